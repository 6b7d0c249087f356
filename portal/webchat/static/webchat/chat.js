// The chat page: Converse.js logged in with a portal token, deep links, and
// failures shown once with a retry instead of Converse's endless re-polling.
//
// Converse is given no `credentials_url`: with one it re-fetches every 2 s
// forever when the portal or Prosody says no. This script fetches a fresh
// token once per login attempt (first load, retry button, reconnect after a
// drop). A refused token or a failed fetch stops at once; a dropped session
// gets three reconnects; then the page says what failed and offers a retry.

const converse = window.converse;
const { Strophe } = converse.env;

const readJSON = (id) => JSON.parse(document.getElementById(id).textContent);
const converseSettings = readJSON("converse-settings");
const page = readJSON("chat-page-settings");
const texts = readJSON("chat-texts");

const statusPanel = document.getElementById("chat-status");
const statusMessage = statusPanel.querySelector(".chat-status__message");
const retryButton = statusPanel.querySelector(".chat-status__retry");
const loginLink = statusPanel.querySelector(".chat-status__login");

function showFailure(message, { canRetry = true, needsLogin = false } = {}) {
  statusMessage.textContent = message;
  retryButton.hidden = !canRetry;
  loginLink.hidden = !needsLogin;
  statusPanel.hidden = false;
  document.body.classList.add("chat-failed");
}

function hideFailure() {
  statusPanel.hidden = true;
  document.body.classList.remove("chat-failed");
}

class CredentialsError extends Error {
  constructor(message, { needsLogin = false } = {}) {
    super(message);
    this.needsLogin = needsLogin;
  }
}

async function fetchCredentials() {
  let response;
  try {
    response = await fetch(page.credentials_url, {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" },
    });
  } catch {
    throw new CredentialsError(texts.portal_unreachable);
  }
  if (response.status === 401) {
    throw new CredentialsError(texts.not_logged_in, { needsLogin: true });
  }
  if (!response.ok) {
    throw new CredentialsError(texts.credentials_failed.replace("%(status)s", response.status));
  }
  const data = await response.json();
  if (!data.jid || !data.password) {
    throw new CredentialsError(texts.credentials_failed.replace("%(status)s", response.status));
  }
  return { jid: data.jid, password: data.password };
}

// Automatic login attempts allowed in a row: the first one, then a few of
// Converse's reconnects (2 s apart) after an established session dropped.
const MAX_ATTEMPTS_NEW = 1;
const MAX_ATTEMPTS_AFTER_DROP = 3;

let api = null;
let everConnected = false;
let attempts = 0;
let lastFailure = null; // the Strophe status that ended the last attempt
let endingOnPurpose = false; // set while the page itself ends the session

function reportFailure() {
  const { Status } = Strophe;
  if (lastFailure === Status.AUTHFAIL) {
    showFailure(texts.login_refused);
  } else if (everConnected) {
    showFailure(texts.connection_lost);
  } else {
    showFailure(texts.server_unreachable);
  }
}

async function endChatSession() {
  if (!api || endingOnPurpose) return;
  endingOnPurpose = true;
  const loggedOut = api.user.logout().catch(() => {});
  // A dead connection must not keep the portal logout waiting.
  await Promise.race([loggedOut, new Promise((resolve) => setTimeout(resolve, 3000))]);
}

function openTarget() {
  const target = page.target;
  if (!target) return;
  if (target.kind === "room") {
    api.rooms.open(target.jid, {}, true);
  } else {
    api.chats.open(target.jid, {}, true);
  }
}

converse.plugins.add("chatboard-no-footer", {
  // The fullscreen login form's footer links logos from an outside host.
  initialize() {
    this._converse.api.elements.define("converse-footer", class extends HTMLElement {});
  },
});

converse.plugins.add("chatboard-private-label", {
  // Private messages to and from a room occupant open in the room's sidebar;
  // the label says so in the person's language (the CSS shows it).
  initialize() {
    const { api } = this._converse;
    const Occupant = api.elements.registry["converse-muc-occupant"];
    api.elements.define(
      "converse-muc-occupant",
      class extends Occupant {
        connectedCallback() {
          super.connectedCallback();
          this.classList.add("chatboard-private");
          this.style.setProperty("--private-label", JSON.stringify(texts.private_messages));
        }
      },
    );
  },
});

converse.plugins.add("chatboard-session", {
  initialize() {
    const { _converse } = this;
    const { Status } = Strophe;
    api = _converse.api;
    let credentials = null;

    // Every login attempt, Converse's reconnects included, comes here first: one
    // fetch of a fresh token, and no attempt at all once the budget is spent.
    api.listen.on("login", async (context, payload) => {
      credentials = null;
      if (endingOnPurpose) return { ...payload, success: true };
      attempts += 1;
      if (attempts > (everConnected ? MAX_ATTEMPTS_AFTER_DROP : MAX_ATTEMPTS_NEW)) {
        reportFailure();
        return { ...payload, success: true };
      }
      try {
        credentials = await fetchCredentials();
      } catch (error) {
        showFailure(error.message, { needsLogin: error.needsLogin, canRetry: !error.needsLogin });
        return { ...payload, success: true };
      }
      return payload;
    });
    api.listen.on("beforeAttemptNonPreboundSession", (context, payload) =>
      credentials ? { ...payload, credentials } : payload,
    );

    _converse.state.connfeedback.on("change:connection_status", (feedback) => {
      const status = feedback.get("connection_status");
      if ([Status.AUTHFAIL, Status.CONNFAIL, Status.ERROR].includes(status)) {
        lastFailure = status;
      }
    });
    api.listen.on("disconnected", () => {
      if (!endingOnPurpose) reportFailure();
    });

    const onConnected = () => {
      everConnected = true;
      attempts = 0;
      lastFailure = null;
      hideFailure();
    };
    api.listen.on("connected", onConnected);
    api.listen.on("reconnected", onConnected);
    api.listen.once("connected", () => api.waitUntil("chatBoxesFetched").then(openTarget));

    retryButton.addEventListener("click", () => {
      hideFailure();
      attempts = 0;
      lastFailure = null;
      api.user.login();
    });
  },
});

// Leaving the portal ends the chat: the nav's "Log out" on this page...
document.querySelectorAll(`a[href="${page.logout_url}"]`).forEach((link) => {
  link.addEventListener("click", async (event) => {
    event.preventDefault();
    await endChatSession();
    window.location.href = link.href;
  });
});

// ...and a portal page in another tab that shows someone else, or nobody, signed in.
if ("BroadcastChannel" in window) {
  new BroadcastChannel("chatboard-session").addEventListener("message", async (event) => {
    if (event.data?.user === page.username) return;
    await endChatSession();
    showFailure(texts.logged_out, { canRetry: false, needsLogin: true });
  });
}

converse.initialize({
  ...converseSettings,
  whitelisted_plugins: ["chatboard-no-footer", "chatboard-private-label", "chatboard-session"],
  // Tokens are checked by Prosody's PLAIN only; Strophe never falls back after a
  // failed SASL mechanism, so it must not pick SCRAM.
  connection_options: { mechanisms: [Strophe.SASLPlain] },
});
