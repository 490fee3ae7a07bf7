from django.urls import path

from knowledge import views

app_name = "knowledge"

urlpatterns = [
    path("", views.ArticleList.as_view(), name="list"),
    path("search/", views.SearchView.as_view(), name="search"),
    path("new/", views.ArticleFormView.as_view(), name="create"),
    path("preview/", views.MarkdownPreview.as_view(), name="preview"),
    path("<int:pk>/", views.ArticleDetail.as_view(), name="detail"),
    path("<int:pk>/edit/", views.ArticleFormView.as_view(), name="edit"),
    path("<int:pk>/revisions/", views.RevisionList.as_view(), name="revisions"),
    path("<int:pk>/diff/", views.RevisionDiff.as_view(), name="diff"),
]
