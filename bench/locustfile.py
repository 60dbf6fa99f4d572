"""Users for the load benchmark (bench/load.py runs this with locust, headless).

CAREPLAN_BENCH_ACCOUNTS names a JSON file of accounts (e-mail, password, the plan they share
with their client or key worker and its agreed version); CAREPLAN_BENCH_SAVES names a file
where every save the app acknowledged is written, so the driver can check afterwards that
each one is a version in the database.

- CareplanUser: signs in once, then reads its plan, saves it (the client and the key worker
  of a plan edit the same plan, so saves conflict), reads its history, downloads the sealed
  PDF and opens its home page.
- BareUser: the bare Flask endpoint on the same server.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
from pathlib import Path

from locust import HttpUser, constant, task

from .document_form import CONFLICT_PAGE, CSRF, DocumentForm

ACCOUNTS = json.loads(
    Path(os.environ.get("CAREPLAN_BENCH_ACCOUNTS", "/dev/null")).read_text() or "[]"
)
_next_account = itertools.count()
_saves_lock = threading.Lock()
SIGNED_IN: list = []  # users that have finished signing in (bench/load_run.py waits for all)


class CareplanUser(HttpUser):
    wait_time = constant(0)
    weight = 1

    def on_start(self):
        self.account = ACCOUNTS[next(_next_account) % len(ACCOUNTS)]
        self.doc = self.account["document"]
        self.saves = 0
        page = self.client.get("/login", name="sign in (once per user)")
        token = CSRF.search(page.text).group(1)
        with self.client.post(
            "/login",
            data={
                "email": self.account["email"],
                "password": self.account["password"],
                "csrf_token": token,
            },
            allow_redirects=False,
            name="sign in (once per user)",
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"sign-in answered {response.status_code}")
        SIGNED_IN.append(self)

    @task(5)
    def read_plan(self):
        self.client.get(f"/documents/{self.doc}", name="/documents/[id]")

    @task(3)
    def save(self):
        page = self.client.get(f"/documents/{self.doc}/edit", name="/documents/[id]/edit")
        form = dict(DocumentForm(page.text).fields)
        self.saves += 1
        text = f"{self.account['email']} save {self.saves}"
        form["what_matters-text"] = text
        form["change_note"] = f"load test save {self.saves}"
        with self.client.post(
            f"/documents/{self.doc}/edit",
            data=form,
            allow_redirects=False,
            name="/documents/[id]/edit (save)",
            catch_response=True,
        ) as response:
            if response.status_code == 302:
                with _saves_lock, open(os.environ["CAREPLAN_BENCH_SAVES"], "a") as out:
                    out.write(json.dumps({"document": self.doc, "text": text}) + "\n")
                response.success()
            elif response.status_code == 409 and CONFLICT_PAGE in response.text:
                response.success()  # someone saved first: the conflict page, as designed
                with _saves_lock, open(os.environ["CAREPLAN_BENCH_SAVES"], "a") as out:
                    out.write(json.dumps({"document": self.doc, "conflict": True}) + "\n")
            else:
                response.failure(f"save answered {response.status_code}")

    @task(2)
    def history(self):
        self.client.get(f"/documents/{self.doc}/history", name="/documents/[id]/history")

    @task(2)
    def download(self):
        with self.client.get(
            f"/documents/{self.doc}/versions/{self.account['agreed_version']}/signed.pdf",
            name="/documents/[id]/versions/[n]/signed.pdf",
            catch_response=True,
        ) as response:
            if response.status_code != 200 or not response.content.startswith(b"%PDF"):
                response.failure(f"download answered {response.status_code}")

    @task(1)
    def home(self):
        self.client.get("/", name="/ (home)")


class BareUser(HttpUser):
    wait_time = constant(0)
    weight = 1

    @task
    def hello(self):
        self.client.get("/bare/", name="/bare/ (bare Flask)")
