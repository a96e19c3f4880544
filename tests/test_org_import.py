from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from org.importing import OrgImportError, import_csv
from org.models import Department, Post, User

pytestmark = pytest.mark.django_db

DEPARTMENTS = """所属コード,所属名,上位所属コード,文書番号略称,表示順
kikaku-zaisei,財政課,kikaku,企財,2
kikaku,企画部,,企,1
"""
POSITIONS = "職名コード,職名,職位\nshuji,主事,10\nkacho,課長,40\n"
STAFF = """職員番号,ユーザー名,姓,名,メール,所属コード,職名コード,本務
0001,kimura,木村,拓也,kimura@example.jp,kikaku-zaisei,kacho,1
0002,mori,森,さくら,mori@example.jp,kikaku-zaisei,shuji,1
0002,mori,森,さくら,mori@example.jp,kikaku,shuji,0
"""


def load_all() -> None:
    import_csv(DEPARTMENTS.encode("cp932"), "departments")
    import_csv(POSITIONS.encode("utf-8-sig"), "positions")
    import_csv(STAFF.encode("utf-8"), "staff")


def test_personnel_export_in_shift_jis_with_japanese_headers():
    load_all()
    section = Department.objects.get(code="kikaku-zaisei")
    assert section.parent.code == "kikaku"
    assert section.full_name == "企画部 財政課"
    assert section.number_prefix == "企財"
    mori = User.objects.get(username="mori")
    assert str(mori) == "森 さくら" and mori.employee_id == "0002"
    assert not mori.has_usable_password()
    assert mori.posts.count() == 2
    assert mori.primary_post.department == section


def test_reimport_ends_posts_the_file_no_longer_lists():
    load_all()
    import_csv(
        STAFF.replace("0002,mori,森,さくら,mori@example.jp,kikaku,shuji,0\n", "").encode(), "staff"
    )
    mori = User.objects.get(username="mori")
    ended = Post.objects.get(user=mori, department__code="kikaku")
    assert ended.ends_on is not None and not ended.is_primary
    assert [p.department.code for p in mori.posts.all() if p.is_current()] == ["kikaku-zaisei"]


def test_every_bad_line_is_reported_and_nothing_is_imported():
    load_all()
    bad = (
        "username,family_name,department_code,position_code\n"
        "newbie,新,kikaku,shuji\n"
        "ghost,幽霊,nowhere,shuji\n"
        "odd,奇,kikaku,nosuch\n"
    )
    with pytest.raises(OrgImportError) as caught:
        import_csv(bad.encode(), "staff")
    assert caught.value.errors == [
        "Line 3: department 'nowhere' does not exist.",
        "Line 4: position 'nosuch' does not exist.",
    ]
    assert not User.objects.filter(username="newbie").exists()


def test_missing_columns_and_cycles_are_refused():
    with pytest.raises(OrgImportError, match="missing column"):
        import_csv(b"code\nx\n", "departments")
    with pytest.raises(OrgImportError, match="own ancestor"):
        import_csv(b"code,name,parent_code\na,A,b\nb,B,a\n", "departments")
    assert not Department.objects.exists()


def test_command_reports_errors(tmp_path):
    path = tmp_path / "positions.csv"
    path.write_text("code,name,rank\nx,X,high\n", encoding="utf-8")
    with pytest.raises(CommandError, match="rank must be a whole number"):
        call_command("import_org", "positions", str(path))
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_org", "positions", str(tmp_path / "missing.csv"))
