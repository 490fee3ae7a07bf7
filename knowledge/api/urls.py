"""The knowledge API, mounted at ``/api/v1/knowledge/``: ``articles/``, ``categories/``, ``self-help/``."""

from rest_framework.routers import SimpleRouter

from knowledge.api import views

router = SimpleRouter()
router.register("articles", views.ArticleViewSet, basename="article")
router.register("categories", views.CategoryViewSet, basename="knowledge-category")
router.register("self-help", views.SelfHelpViewSet, basename="self-help")

app_name = "knowledge-api"
urlpatterns = router.urls
