from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from portal.core.text import clean_text
from portal.profiles import actions, avatars
from portal.profiles.directory import access_person, search_people
from portal.profiles.forms import ProfileForm
from portal.profiles.models import Profile

PEOPLE_PER_PAGE = 50
# Avatar files are named by their content hash: a name never changes meaning.
AVATAR_CACHE_CONTROL = "public, max-age=31536000, immutable"


@login_required
def edit_profile(request):
    profile = Profile.objects.filter(user=request.user).first() or Profile(user=request.user)
    if request.method == "POST":
        form = ProfileForm(request.POST, request.FILES)
        if form.is_valid():
            changed = actions.update_profile(request.user, **form.cleaned_data)
            messages.success(request, _("Profile saved.") if changed else _("Nothing to change."))
            return redirect("profile")
        messages.error(request, _("Your profile was not saved. Please correct the errors below."))
    else:
        form = ProfileForm(initial={"name": profile.name, "about": profile.about})
    return render(request, "profiles/edit.html", {"form": form, "profile": profile})


@login_required
def people(request):
    # A search box takes text only: control characters (a NUL would break
    # PostgreSQL's query) are dropped like in names.
    query = clean_text(request.GET.get("q", ""), multiline=False, max_length=100)
    page = Paginator(search_people(query), PEOPLE_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "profiles/people.html", {"page": page, "q": query})


@login_required
def person(request, username):
    return render(request, "profiles/person.html", {"person": access_person(username)})


@require_GET
def avatar(request, file_name):
    try:
        path = avatars.avatar_path(file_name)
        handle = path.open("rb")
    except (ValueError, FileNotFoundError):
        raise Http404("No such avatar") from None
    response = FileResponse(handle, content_type=avatars.AVATAR_CONTENT_TYPE)
    response["Cache-Control"] = AVATAR_CACHE_CONTROL
    return response
