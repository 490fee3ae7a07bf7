"""Problem management's API. Problems are mounted at ``/api/v1/problems/`` like every app; the other
resources stand beside them at ``/api/v1/known-errors/``, ``/workarounds/``, ``/problem-candidates/``
and ``/improvements/`` (``root_urlpatterns``, mounted by ``itsm.urls`` at ``/api/v1/``)."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from problems.api import views

router = SimpleRouter()
# Reference data first, problems at the root (as incidents does).
router.register("risk-levels", views.RiskLevelViewSet, basename="risklevel")
router.register("", views.ProblemViewSet, basename="problem")

app_name = "problems-api"
urlpatterns = router.urls

root = SimpleRouter()
root.register("known-errors/published", views.PublishedKnownErrorViewSet, basename="published-known-error")
root.register("known-errors", views.KnownErrorViewSet, basename="known-error")
root.register("workarounds", views.WorkaroundViewSet, basename="workaround")
root.register("problem-candidates", views.CandidateViewSet, basename="problem-candidate")
root.register("improvements", views.ImprovementViewSet, basename="improvement")

root_urlpatterns = [path("", include((root.urls, "problems-root-api")))]
