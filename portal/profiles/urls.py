from django.urls import path

from portal.profiles import views

urlpatterns = [
    path("profile/", views.edit_profile, name="profile"),
    path("people/", views.people, name="people"),
    path("people/<str:username>/", views.person, name="person"),
    path("media/avatars/<str:file_name>", views.avatar, name="avatar"),
]
