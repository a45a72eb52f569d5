from prisma_tasks.tasks._runner import progress, quiet_progress


def test_progress_lines_are_plain_and_quiet_hides_them(capsys, monkeypatch) -> None:
    # setenv first: monkeypatch then removes what quiet_progress(True) sets below (a delenv of
    # an unset variable alone records nothing to undo, and later tests' tasks went silent).
    monkeypatch.setenv("PRISMA_TASKS_QUIET", "0")
    monkeypatch.delenv("PRISMA_TASKS_QUIET")
    progress("[1/2] seeded identity in 0.01s")
    assert capsys.readouterr().out == "[1/2] seeded identity in 0.01s\n"
    quiet_progress(False)
    progress("still shown")
    assert capsys.readouterr().out == "still shown\n"
    quiet_progress(True)
    progress("[2/2] seeded orders in 0.01s")
    assert capsys.readouterr().out == ""
