from django.urls import path

from portal.accounts import staff_views

urlpatterns = [
    path("", staff_views.people, name="staff-people"),
    path("<str:username>/", staff_views.person, name="staff-person"),
    path("<str:username>/deactivate/", staff_views.deactivate, name="staff-person-deactivate"),
    path("<str:username>/reactivate/", staff_views.reactivate, name="staff-person-reactivate"),
    path("<str:username>/reset-password/", staff_views.reset_password, name="staff-person-reset"),
    path("<str:username>/retry-sync/", staff_views.retry_sync, name="staff-person-retry"),
    path("<str:username>/delete/", staff_views.delete, name="staff-person-delete"),
]
