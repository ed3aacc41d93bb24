"""Access matrix (issue 7): who may read, create, write and delete each crm_plus record, and who
may see and move a partner's funnel.

The expected matrix is written once below. Each cell runs as that user in a savepoint rolled
back afterwards, on records of the main company (the other company's CRM+ user must not reach
them). A leak is a cell that is allowed where the table says refused; the test counts them and
fails on any difference from the table.
"""

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from .common import ALL_DOCUMENTS, PARTNER_MANAGER, USER, CrmPlusCase

# Users (columns): portal, internal user with the default rights (Contact Creation) but no CRM+,
# the CRM+ access levels (with Contact Creation, as new users get it): User: Own Documents Only,
# User: All Documents, Administrator; and an own-documents CRM+ user (with Contact Creation) of
# another company only. The main company's records are unassigned contacts (every level works
# them), but for the "-colleague" rows: a contact whose salesperson is a colleague.
USERS = ("portal", "internal", "crm_user", "crm_all", "crm_manager", "other_company")

# Y: allowed.  A: AccessError.  U: refused by a funnel rule (UserError / ValidationError).
# -: refused, by access rights or by a funnel rule (both are acceptable).
EXPECTED = """
operation                            portal internal crm_user crm_all crm_manager other_company
configuration read                     A      A        Y        Y       Y           A
configuration create                   A      A        A        A       Y           A
configuration write                    A      A        A        A       Y           A
configuration unlink                   A      A        A        A       Y           A
crm.plus.phase.line read               A      A        Y        Y       Y           A
crm.plus.phase.line create             -      -        U        U       U           -
crm.plus.phase.line write              A      A        Y        Y       Y           A
crm.plus.phase.line write-state        -      -        U        U       U           -
crm.plus.phase.line write-colleague    A      A        A        Y       Y           A
crm.plus.phase.line unlink             A      A        A        A       U           A
wizard read                            A      A        Y        Y       Y           Y
wizard create                          A      A        Y        Y       Y           Y
wizard write                           A      A        Y        Y       Y           Y
wizard unlink                          A      A        Y        Y       Y           Y
crm.plus.funnel.job read               A      A        A        A       Y           A
crm.plus.funnel.job read-own           A      A        Y        Y       Y           Y
crm.plus.funnel.job create             A      A        A        A       A           A
crm.plus.funnel.job write              A      A        A        A       A           A
crm.plus.funnel.job unlink             A      A        A        A       Y           A
partner read-funnel-fields             A      A        Y        Y       Y           A
partner read-funnel-lines              A      A        Y        Y       Y           A
partner search-funnel-fields           A      A        Y        Y       Y           Y
partner create-with-account-type       A      A        Y        Y       Y           A
partner create-closed                  -      -        U        U       U           -
partner write-account-type             A      A        Y        Y       Y           A
partner write-lead-phase               A      A        Y        Y       Y           A
partner write-funnel-state             -      -        U        U       U           -
partner advance-phase                  A      A        Y        Y       Y           A
partner close-lost                     A      A        Y        Y       Y           A
partner reopen                         A      A        Y        Y       Y           A
partner close-wizard-confirm           A      A        Y        Y       Y           A
partner account-type-wizard-apply      A      A        Y        Y       Y           A
partner advance-colleague              A      A        A        Y       Y           A
partner write-lead-phase-colleague     A      A        A        Y       Y           A
partner take-over-colleague            A      Y        A        Y       Y           A
"""


# The rows of "configuration" hold for each of these models, those of "wizard" for each wizard.
GROUPS = {
    "configuration": ("crm.plus.account.type", "crm.plus.lead.phase", "crm.plus.close.reason"),
    "wizard": ("crm.plus.close.wizard", "crm.plus.account.type.wizard"),
}


def _parse(table):
    rows = [line.split() for line in table.strip().splitlines()]
    header, body = rows[0], rows[1:]
    users = header[-len(USERS) :]
    assert tuple(users) == USERS, users
    return {
        (obj, row[1], user): cell
        for row in body
        for obj in GROUPS.get(row[0], (row[0],))
        for user, cell in zip(users, row[2:], strict=False)
    }


EXPECTED_CELLS = _parse(EXPECTED)
REFUSED = {"A", "U", "-"}


@tagged("post_install", "-at_install")
class TestAccessMatrix(CrmPlusCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other_company = cls.env["res.company"].create({"name": "T-Other Company"})
        cls.users = {
            "portal": cls.make_user("T-Portal", "portal", "base.group_portal"),
            "internal": cls.make_user(
                "T-Internal default", "internal_default", "base.group_user", PARTNER_MANAGER
            ),
            "crm_user": cls.user_sales,
            "crm_all": cls.make_user(
                "T-All documents", "all_documents", ALL_DOCUMENTS, PARTNER_MANAGER
            ),
            "crm_manager": cls.user_manager,
            "other_company": cls.make_user(
                "T-Other company sales",
                "other_company",
                USER,
                PARTNER_MANAGER,
                company_id=cls.other_company.id,
                company_ids=[Command.set([cls.other_company.id])],
            ),
        }
        # Records of the main company: the other company's user must not reach them.
        cls.main_type, cls.main_reason, cls.main_partner = cls._company_funnel(
            cls.company, "Main", "MAIN", 3
        )
        cls.main_phase_1, cls.main_phase_2, cls.main_phase_3 = cls.main_type.phase_ids.sorted(
            "sequence"
        )
        cls.spare_type = cls.AccountType.create(
            {"name": "T-Spare", "code": "T-SPARE", "company_id": cls.company.id}
        )
        cls.main_closed = cls.Partner.create(
            {
                "name": "T-Main closed",
                "account_type_id": cls.main_type.id,
                "company_id": cls.company.id,
            }
        )
        cls.main_closed.action_close(cls.main_reason.id)
        cls.main_line = cls.main_partner.funnel_line_ids.filtered(
            lambda line: line.state == "current"
        )
        # A deal of the main company whose salesperson is a colleague (own documents).
        colleague = cls.make_user("T-Colleague", "colleague", USER)
        cls.colleague_partner = cls.Partner.create(
            {
                "name": "T-Colleague's deal",
                "account_type_id": cls.main_type.id,
                "company_id": cls.company.id,
                "user_id": colleague.id,
            }
        )
        cls.colleague_line = cls.colleague_partner.funnel_line_ids.filtered(
            lambda line: line.state == "current"
        )
        # Records of the other company: nobody of the main company may see them.
        cls.other_type, cls.other_reason, cls.other_partner = cls._company_funnel(
            cls.other_company, "Other", "OTHER", 2
        )

    @classmethod
    def _company_funnel(cls, company, name, code, phase_count):
        """An account type of ``phase_count`` phases (the last one closing), a lost reason and a
        contact of that type, all of ``company``."""
        account_type = cls.AccountType.create(
            {
                "name": f"T-{name} only",
                "code": f"T-{code}",
                "company_id": company.id,
                "phase_ids": [
                    Command.create(
                        {
                            "name": f"T-{code[0]}{sequence}",
                            "sequence": sequence,
                            "phase_type": "closing" if sequence == phase_count else "normal",
                        }
                    )
                    for sequence in range(1, phase_count + 1)
                ],
            }
        )
        reason = cls.Reason.create(
            {
                "name": f"T-{name} lost",
                "code": f"T-{code[0]}L",
                "outcome": "lost",
                "company_id": company.id,
            }
        )
        partner = cls.Partner.create(
            {
                "name": f"T-{name} partner",
                "account_type_id": account_type.id,
                "company_id": company.id,
            }
        )
        return account_type, reason, partner

    # ------------------------------------------------------------------ operations

    def _operations(self):
        """{(object, operation): function(env)}, env being the user's."""
        lost = self.main_reason.id

        def fresh(model, vals):
            return self.env[model].create(vals)

        def own(model, vals):
            # A transient record created by the user (only its creator may use it).
            def make(env):
                return env[model].sudo().create(vals).sudo(False)

            return make

        def configuration(model, record, read_fields, vals, write_vals):
            # The four operations on a configuration model: read and write ``record``, create
            # one, unlink an unused one (created as superuser); ``vals`` completes a name.
            return {
                (model, "read"): lambda env: record.with_env(env).read(read_fields.split()),
                (model, "create"): lambda env: env[model].create(dict(vals, name="T-new")),
                (model, "write"): lambda env: record.with_env(env).write(dict(write_vals)),
                (model, "unlink"): lambda env: fresh(model, dict(vals, name="T-unused"))
                .with_env(env)
                .unlink(),
            }

        company = {"company_id": self.company.id}
        spare = {"account_type_id": self.spare_type.id}
        reason = dict(company, outcome="lost")
        renamed, edited = {"name": "T-renamed"}, {"description": "edited"}
        configurations = {}
        for model, record, read_fields, vals, write_vals in (
            ("crm.plus.account.type", self.main_type, "name code phase_ids", company, renamed),
            ("crm.plus.lead.phase", self.main_phase_1, "name default_score", spare, edited),
            ("crm.plus.close.reason", self.main_reason, "name outcome", reason, renamed),
        ):
            configurations.update(configuration(model, record, read_fields, vals, write_vals))

        close_wizard = own(
            "crm.plus.close.wizard",
            {"partner_ids": [Command.set(self.main_partner.ids)], "close_reason_id": lost},
        )
        type_wizard = own(
            "crm.plus.account.type.wizard",
            {
                "partner_ids": [Command.set(self.main_partner.ids)],
                "account_type_id": self.lead_type.id,
            },
        )
        # A background job of the main company, asked for by the manager.
        job_vals = {
            "operation": "account_type",
            "target_ids": self.main_partner.ids,
            "total_count": 1,
            "account_type_id": self.lead_type.id,
            "user_id": self.user_manager.id,
            "company_id": self.company.id,
        }

        def own_job(env):
            return (
                env["crm.plus.funnel.job"]
                .sudo()
                .create(dict(job_vals, user_id=env.uid, company_id=env.company.id))
                .sudo(False)
            )

        ops = {
            ("crm.plus.funnel.job", "read"): lambda env: fresh("crm.plus.funnel.job", job_vals)
            .with_env(env)
            .read(["state", "error", "total_count"]),
            ("crm.plus.funnel.job", "read-own"): lambda env: own_job(env).read(["state", "error"]),
            ("crm.plus.funnel.job", "create"): lambda env: env["crm.plus.funnel.job"].create(
                job_vals
            ),
            ("crm.plus.funnel.job", "write"): lambda env: fresh("crm.plus.funnel.job", job_vals)
            .with_env(env)
            .write({"state": "done"}),
            ("crm.plus.funnel.job", "unlink"): lambda env: fresh("crm.plus.funnel.job", job_vals)
            .with_env(env)
            .unlink(),
            **configurations,
            ("crm.plus.phase.line", "read"): lambda env: self.main_line.with_env(env).read(
                ["state", "score", "forecast_value"]
            ),
            ("crm.plus.phase.line", "create"): lambda env: env["crm.plus.phase.line"].create(
                {"partner_id": self.main_partner.id, "phase_id": self.phase_first.id}
            ),
            ("crm.plus.phase.line", "write"): lambda env: self.main_line.with_env(env).write(
                {"score": 55, "forecast_value": 1000.0, "note": "edited"}
            ),
            ("crm.plus.phase.line", "write-state"): lambda env: self.main_line.with_env(env).write(
                {"state": "done"}
            ),
            ("crm.plus.phase.line", "write-colleague"): lambda env: self.colleague_line.with_env(
                env
            ).write({"score": 55}),
            ("crm.plus.phase.line", "unlink"): lambda env: self.main_line.with_env(env).unlink(),
            ("crm.plus.close.wizard", "read"): lambda env: close_wizard(env).read(["note"]),
            ("crm.plus.close.wizard", "create"): lambda env: env["crm.plus.close.wizard"].create(
                {"partner_ids": [Command.set(self.main_partner.ids)], "close_reason_id": lost}
            ),
            ("crm.plus.close.wizard", "write"): lambda env: close_wizard(env).write(
                {"note": "why"}
            ),
            ("crm.plus.close.wizard", "unlink"): lambda env: close_wizard(env).unlink(),
            ("crm.plus.account.type.wizard", "read"): lambda env: type_wizard(env).read(
                ["account_type_id"]
            ),
            ("crm.plus.account.type.wizard", "create"): lambda env: env[
                "crm.plus.account.type.wizard"
            ].create(
                {
                    "partner_ids": [Command.set(self.main_partner.ids)],
                    "account_type_id": self.lead_type.id,
                }
            ),
            ("crm.plus.account.type.wizard", "write"): lambda env: type_wizard(env).write(
                {"account_type_id": self.prospect_type.id}
            ),
            ("crm.plus.account.type.wizard", "unlink"): lambda env: type_wizard(env).unlink(),
            ("partner", "read-funnel-fields"): lambda env: self.main_partner.with_env(env).read(
                [
                    "account_type_id",
                    "lead_phase_id",
                    "funnel_state",
                    "close_reason_id",
                    "funnel_score",
                    "funnel_forecast_value",
                ]
            ),
            ("partner", "read-funnel-lines"): lambda env: self.main_partner.with_env(
                env
            ).funnel_line_ids.mapped("state"),
            ("partner", "search-funnel-fields"): lambda env: env["res.partner"].search(
                [("lead_phase_id", "!=", False), ("funnel_state", "=", "open")]
            ),
            ("partner", "create-with-account-type"): lambda env: env["res.partner"].create(
                {
                    "name": "T-new partner",
                    "account_type_id": self.main_type.id,
                    "company_id": self.company.id,
                }
            ),
            ("partner", "create-closed"): lambda env: env["res.partner"].create(
                {
                    "name": "T-born won",
                    "funnel_state": "won",
                    "close_reason_id": self.reason_won.id,
                }
            ),
            ("partner", "write-account-type"): lambda env: self.main_partner.with_env(env).write(
                {"account_type_id": self.lead_type.id}
            ),
            ("partner", "write-lead-phase"): lambda env: self.main_partner.with_env(env).write(
                {"lead_phase_id": self.main_phase_2.id}
            ),
            ("partner", "write-funnel-state"): lambda env: self.main_partner.with_env(env).write(
                {"funnel_state": "won"}
            ),
            ("partner", "advance-phase"): lambda env: self.main_partner.with_env(
                env
            ).action_advance_phase(),
            ("partner", "close-lost"): lambda env: self.main_partner.with_env(env).action_close(
                lost
            ),
            ("partner", "reopen"): lambda env: self.main_closed.with_env(env).action_reopen(),
            ("partner", "close-wizard-confirm"): lambda env: close_wizard(env).action_confirm(),
            ("partner", "account-type-wizard-apply"): lambda env: type_wizard(env).action_apply(),
            ("partner", "advance-colleague"): lambda env: self.colleague_partner.with_env(
                env
            ).action_advance_phase(),
            ("partner", "write-lead-phase-colleague"): lambda env: self.colleague_partner.with_env(
                env
            ).write({"lead_phase_id": self.main_phase_2.id}),
            ("partner", "take-over-colleague"): lambda env: self.colleague_partner.with_env(
                env
            ).write({"user_id": env.uid}),
        }
        return ops

    def _run_cell(self, user, operation):
        """Run one operation as ``user`` in a savepoint always rolled back; 'Y', 'A' or 'U'."""
        env = self.env(user=self.users[user], su=False)
        savepoint = self.env.cr.savepoint()
        try:
            operation(env)
            env.flush_all()
        except AccessError as error:
            return "A", str(error)
        except (UserError, ValidationError) as error:
            return "U", str(error)
        finally:
            savepoint.close(rollback=True)
            self.env.invalidate_all(flush=False)
        return "Y", ""

    # ------------------------------------------------------------------ tests

    def test_access_matrix(self):
        operations = self._operations()
        self.assertEqual(
            set(operations),
            {(obj, op) for obj, op, _user in EXPECTED_CELLS},
            "every operation has a row in the expected table, and the other way round",
        )
        actual, leaks, mismatches = {}, [], []
        for (obj, op, user), expected in sorted(EXPECTED_CELLS.items()):
            got, message = self._run_cell(user, operations[(obj, op)])
            actual[(obj, op, user)] = got
            ok = got == expected or (expected == "-" and got in REFUSED)
            if ok:
                continue
            line = f"{obj} {op} as {user}: expected {expected}, got {got} {message[:200]!r}"
            (leaks if expected in REFUSED and got == "Y" else mismatches).append(line)
        # The funnel data is intact after every cell.
        self.assertFunnelInvariants(
            self.main_partner | self.main_closed | self.colleague_partner | self.other_partner
        )
        self.assertFalse(
            leaks or mismatches,
            f"{len(leaks)} leak(s), {len(mismatches)} other difference(s) from the table "
            f"({len(EXPECTED_CELLS)} cells):\n" + "\n".join(leaks + mismatches),
        )

    def test_search_shows_no_other_company_record(self):
        """Searches (list views, exports, RPC) never return another company's funnel."""
        main_records = {
            "crm.plus.account.type": self.main_type,
            "crm.plus.lead.phase": self.main_type.phase_ids,
            "crm.plus.close.reason": self.main_reason,
            "crm.plus.phase.line": self.main_partner.phase_line_ids,
        }
        other_records = {
            "crm.plus.account.type": self.other_type,
            "crm.plus.lead.phase": self.other_type.phase_ids,
            "crm.plus.close.reason": self.other_reason,
            "crm.plus.phase.line": self.other_partner.phase_line_ids,
        }
        leaks = []
        for user, hidden in (("other_company", main_records), ("crm_user", other_records)):
            env = self.env(user=self.users[user], su=False)
            for model, records in hidden.items():
                self.assertTrue(records, model)
                found = env[model].with_context(active_test=False).search([])
                if found & records.with_env(env):
                    leaks.append(f"{user} finds {model} {(found & records.with_env(env)).ids}")
                grouped = env[model]._read_group([("id", "in", records.ids)], [], ["__count"])
                if grouped[0][0]:
                    leaks.append(f"{user} counts {grouped[0][0]} {model} by read_group")
            partners = env["res.partner"].search([("funnel_state", "!=", False)])
            hidden_partners = self.main_partner if user == "other_company" else self.other_partner
            if partners & hidden_partners.with_env(env):
                leaks.append(f"{user} finds partner {hidden_partners.name}")
        self.assertFalse(leaks, "\n".join(leaks))

    def test_other_company_cannot_use_main_company_config(self):
        """The other company's user cannot put its own partners in the main company's funnel
        nor close them with the main company's reason."""
        partner = self.other_partner
        allowed = []
        for label, operation in (
            (
                "put its partner in a main-company type",
                lambda env: partner.with_env(env).write({"account_type_id": self.main_type.id}),
            ),
            (
                "close its partner with a main-company reason",
                lambda env: partner.with_env(env).action_close(self.main_reason.id),
            ),
            (
                "move its partner to a main-company phase",
                lambda env: partner.with_env(env).write({"lead_phase_id": self.main_phase_2.id}),
            ),
            (
                "create a partner in a main-company type",
                lambda env: env["res.partner"].create(
                    {"name": "T-cross", "account_type_id": self.main_type.id}
                ),
            ),
        ):
            got, _message = self._run_cell("other_company", operation)
            if got not in REFUSED:
                allowed.append(label)
        self.assertFunnelInvariants(self.other_partner)
        self.assertFalse(allowed, f"the other company's user could: {', '.join(allowed)}")
