from django.urls import path

from problems import views

app_name = "problems"

urlpatterns = [
    path("", views.ProblemList.as_view(), name="list"),
    path("new/", views.ProblemFormView.as_view(), name="create"),
    path("<int:pk>/", views.ProblemDetail.as_view(), name="detail"),
    path("<int:pk>/edit/", views.ProblemFormView.as_view(), name="edit"),
    path("known-errors/", views.KnownErrorList.as_view(), name="known-errors"),
    path("known-errors/new/", views.KnownErrorFormView.as_view(), name="known-error-create"),
    path("known-errors/<int:pk>/", views.KnownErrorDetail.as_view(), name="known-error"),
    path("known-errors/<int:pk>/edit/", views.KnownErrorFormView.as_view(), name="known-error-edit"),
    path("known-errors/<int:pk>/apply/", views.ApplyWorkaround.as_view(), name="apply"),
    path("known-errors/<int:pk>/log-and-apply/", views.LogAndApply.as_view(), name="log-and-apply"),
    path("candidates/", views.CandidateQueue.as_view(), name="candidates"),
    path("trends/", views.Trends.as_view(), name="trends"),
    path("improvements/", views.ImprovementList.as_view(), name="improvements"),
    path("improvements/new/", views.ImprovementFormView.as_view(), name="improvement-create"),
    path("improvements/<int:pk>/edit/", views.ImprovementFormView.as_view(), name="improvement-edit"),
]
