from django.urls import path

from portal.invites import views

urlpatterns = [
    path("invites/", views.invite_list, name="invite-list"),
    path("invites/<int:pk>/", views.invite_detail, name="invite-detail"),
    path("invites/<int:pk>/revoke/", views.invite_revoke, name="invite-revoke"),
    path("invite/<str:token>/", views.invite_accept, name="invite-accept"),
]
