from django.urls import path

from portal.rooms import views

urlpatterns = [
    path("", views.room_list, name="room-list"),
    path("new/", views.room_new, name="room-new"),
    path("<str:slug>/", views.room_detail, name="room-detail"),
    path("<str:slug>/edit/", views.room_edit, name="room-edit"),
    path("<str:slug>/delete/", views.room_delete, name="room-delete"),
    path("<str:slug>/members/", views.room_members, name="room-members"),
    path("<str:slug>/leave/", views.room_leave, name="room-leave"),
    path("<str:slug>/occupants/", views.room_occupant, name="room-occupant"),
    path("<str:slug>/audit/", views.room_audit, name="room-audit"),
]
