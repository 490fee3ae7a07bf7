from django.urls import path

from portal import views

app_name = "portal"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("search/", views.SearchView.as_view(), name="search"),
    path("articles/<int:pk>/", views.ArticleView.as_view(), name="article"),
    path("workarounds/<int:pk>/", views.WorkaroundView.as_view(), name="workaround"),
    path("solved/", views.SolvedView.as_view(), name="solved"),
    path("report/", views.RaiseView.as_view(), name="raise"),
    path("report/intake/", views.IntakePartial.as_view(), name="intake"),
    path("report/fixes/", views.IntakeFixes.as_view(), name="intake-fixes"),
    path("report/suggestions/", views.SuggestPartial.as_view(), name="suggestions"),
    path("tickets/", views.TicketList.as_view(), name="tickets"),
    path("tickets/<int:pk>/", views.TicketDetail.as_view(), name="ticket"),
    path("tickets/<int:pk>/watch/", views.WatchView.as_view(), name="watch"),
    path("tickets/<int:pk>/<slug:action>/", views.TicketAction.as_view(), name="ticket-action"),
    path("notifications/", views.NotificationList.as_view(), name="notifications"),
]
