pytest_plugins = ["tests.fixtures", "tests.browser", "tests.stacks"]
