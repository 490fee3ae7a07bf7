"""The knowledge demo: loads over the people and CMDB demos (the incident and problem demos are
optional: without them the two articles written from their records are left out), idempotent."""

import pytest

from configuration import demo as cmdb_demo
from knowledge import demo, queries
from knowledge.models import Article, ArticleRevision, Category
from people import demo as people_demo
from people.models import User

pytestmark = pytest.mark.django_db


def test_the_demo_loads_once_with_published_articles_for_the_right_readers():
    people_demo.load_demo()
    cmdb_demo.load_demo()
    assert demo.load_demo() == "18 articles created"
    assert demo.load_demo().startswith("0 articles")
    assert Category.objects.count() == 7
    assert Article.objects.filter(status="published").count() == 15
    assert set(Article.objects.values_list("status", flat=True)) == {"draft", "in_review", "published"}
    assert Article.objects.filter(services__isnull=False).distinct().count() >= 10
    assert ArticleRevision.objects.filter(number=2).exists()
    end_user = User.objects.get(username="enduser")
    visible = Article.objects.visible_to(end_user)
    assert visible.filter(audience="organisation").exists()  # enduser works in Finance
    assert not visible.filter(audience="agents").exists()
    assert [r.article.title for r in queries.search(end_user, "password")][0] == demo.FIRST


def test_over_the_incident_and_problem_demos_two_articles_come_from_their_records():
    from incidents import demo as incident_demo
    from itsm.models import RecordLink
    from problems import demo as problem_demo

    people_demo.load_demo()
    cmdb_demo.load_demo()
    incident_demo.load_demo()
    problem_demo.load_demo()
    assert demo.load_demo() == "20 articles created"
    linked = RecordLink.objects.filter(target_type__model="article")
    assert {link.source_type.model for link in linked} == {"incident", "knownerror"}
