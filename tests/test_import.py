"""Issue 16: an existing pipeline brought in through Odoo's importer, and dates a manager can
correct."""

from datetime import datetime, time, timedelta
from pathlib import Path

import pytz
from lxml import etree

from odoo import fields
from odoo.exceptions import AccessError, ValidationError
from odoo.tools import file_open

from .common import CrmPlusCase

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "pipeline_import.csv"
IMPORT_OPTIONS = {
    "has_headers": True,
    "quoting": '"',
    "separator": ",",
    "encoding": "utf-8",
    "date_format": "%Y-%m-%d",
    "datetime_format": "%Y-%m-%d %H:%M:%S",
}
FIELDS = [
    "name",
    "account_type_id",
    "lead_phase_id",
    "funnel_phase_date_start",
    "funnel_state",
    "close_reason_id",
    "close_date",
]


class TestImport(CrmPlusCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.phase_qualif.stale_after_days = 10
        cls.env.user.tz = "Europe/Amsterdam"
        cls.now = fields.Datetime.now()

    def ago(self, days):
        return fields.Datetime.to_string(self.now - timedelta(days=days))

    def importer(self, content, **context):
        return (
            self.env["base_import.import"]
            .with_context(**context)
            .create(
                {
                    "res_model": "res.partner",
                    "file": content,
                    "file_name": "pipeline.csv",
                    "file_type": "text/csv",
                }
            )
        )

    def run_importer(self, content, dryrun=False, **context):
        """What the Import / Test buttons do: the header mapping, then execute_import."""
        importer = self.importer(content, **context)
        preview = importer.parse_preview(dict(IMPORT_OPTIONS))
        self.assertFalse(preview.get("error"), preview)
        matches = preview["matches"]
        import_fields = [
            matches[index][-1] if matches.get(index) else False
            for index in range(len(preview["headers"]))
        ]
        return importer.execute_import(
            import_fields, preview["headers"], dict(IMPORT_OPTIONS), dryrun=dryrun
        )

    def export_file(self, partners, columns, prefix):
        """Export → "I want to update data" of ``partners``, as the CSV file the user gets (the
        importer maps its header, the fields' labels, by itself), each name's ``prefix``
        becoming "<prefix> copy"."""
        exported = partners.with_context(import_compat=True).export_data(columns)["datas"]
        labels = [self.Partner._fields[fname]._description_string(self.env) for fname in columns]
        lines = [",".join(labels)]
        for values in exported:
            row = ["" if value is False else str(value) for value in values]
            row[0] = row[0].replace(prefix, f"{prefix} copy")
            lines.append(",".join(row))
        return ("\n".join(lines) + "\n").encode()

    def errors(self, result):
        return [message for message in result["messages"] if message["type"] == "error"]

    def day_start(self, day):
        tz = pytz.timezone("Europe/Amsterdam")
        return (
            tz.localize(datetime.combine(day, time.min)).astimezone(pytz.utc).replace(tzinfo=None)
        )

    # ------------------------------------------------------------------ the example file

    def test_example_file_through_the_importer(self):
        content = EXAMPLE.read_bytes()
        with file_open("crm_plus/static/xls/crm_plus_pipeline_import.csv", "rb") as template:
            self.assertEqual(template.read(), content, "the template is the example file")
        templates = self.Partner.get_import_templates()
        self.assertIn(
            "/crm_plus/static/xls/crm_plus_pipeline_import.csv",
            [template["template"] for template in templates],
        )
        messages_before = self.env["mail.message"].search_count([("model", "=", "res.partner")])

        result = self.run_importer(content, tracking_disable=True)

        self.assertFalse(self.errors(result), result["messages"])
        partners = self.Partner.browse(result["ids"])
        self.assertEqual(len(partners), 9)
        by_name = {partner.name: partner for partner in partners}
        ref = self.env.ref
        lead = ref("crm_plus.account_type_lead")
        # Account type and phase by name or by code; a phase name is found in the row's type.
        kestrel = by_name["Kestrel Logistics"]
        self.assertEqual(kestrel.account_type_id, lead)
        self.assertEqual(kestrel.lead_phase_id, ref("crm_plus.phase_lead_qualification"))
        self.assertEqual(
            by_name["Orchard & Vine"].lead_phase_id, ref("crm_plus.phase_prospect_negotiation")
        )
        self.assertEqual(
            by_name["Brightwater Bakery"].lead_phase_id, ref("crm_plus.phase_lead_first_contact")
        )
        # The deal's figures go on its line: the current one, or the one it was closed in.
        self.assertEqual(
            (kestrel.funnel_score, kestrel.funnel_forecast_value, kestrel.funnel_recurring_value),
            (30, 18000, 250),
        )
        orchard = by_name["Orchard & Vine"]
        self.assertEqual(orchard.funnel_recurring_value, 100, "1,200 a year")
        self.assertEqual(by_name["Brightwater Bakery"].funnel_deal_recurring_interval, "month")
        halcyon = by_name["Halcyon Studios"]
        closed_in = halcyon.phase_line_ids.filtered("close_outcome")
        self.assertEqual((closed_in.score, closed_in.forecast_value), (90, 25000))
        self.assertEqual(halcyon.funnel_deal_forecast_value, 25000)
        # In Phase Since, in the user's timezone (Amsterdam, UTC+2 in September).
        self.assertEqual(kestrel.funnel_phase_date_start, datetime(2026, 9, 14, 8, 30))
        for name in ("Brightwater Bakery", "Kestrel Logistics", "Morningside Dental"):
            partner = by_name[name]
            self.assertEqual(partner.funnel_state, "open")
            start = partner.funnel_phase_date_start
            current = partner.funnel_line_ids.filtered(lambda line: line.state == "current")
            self.assertEqual(current.phase_id, partner.lead_phase_id)
            self.assertEqual(current.date_start, start)
            earlier = partner.funnel_line_ids.filtered(
                lambda line, current=current: line.sequence < current.sequence
            )
            self.assertTrue(all(line.state == "done" for line in earlier), name)
            self.assertTrue(all(line.date_done <= start for line in earlier), name)
            later = partner.funnel_line_ids.filtered(
                lambda line, current=current: line.sequence > current.sequence
            )
            self.assertTrue(all(line.state == "todo" for line in later), name)
            # The stale flag follows the imported date.
            days = partner.lead_phase_id.stale_after_days
            self.assertEqual(
                partner.funnel_stale_deadline, start + timedelta(days=days) if days else False
            )
            self.assertEqual(
                partner.funnel_is_stale,
                bool(days) and partner.funnel_stale_deadline < self.Partner._funnel_stale_cutoff(),
            )
        self.assertTrue(by_name["Morningside Dental"].funnel_is_stale, "in Proposal since March")
        self.assertFunnelInvariants(partners.filtered(lambda p: p.funnel_state == "open"))

        # Closed deals: won (and moved on to the type when won) or lost, at their date.
        halcyon, pebble, northgate = (
            by_name["Halcyon Studios"],
            by_name["Pebble Street Cafe"],
            by_name["Northgate Printing"],
        )
        self.assertEqual(
            (halcyon.funnel_state, halcyon.close_reason_id, halcyon.close_date),
            ("won", ref("crm_plus.close_reason_won_contract"), fields.Date.to_date("2025-12-12")),
        )
        self.assertEqual(halcyon.account_type_id, ref("crm_plus.account_type_customer"))
        self.assertEqual(
            (pebble.funnel_state, pebble.close_reason_id, pebble.lead_phase_id),
            ("lost", ref("crm_plus.close_reason_lost_price"), ref("crm_plus.phase_lead_proposal")),
        )
        self.assertEqual(northgate.funnel_state, "lost", "the reason gives the outcome")
        self.assertEqual(northgate.close_reason_id, ref("crm_plus.close_reason_lost_competitor"))
        for partner in (halcyon, pebble, northgate):
            closed = partner.phase_line_ids.filtered("close_outcome")
            self.assertEqual(len(closed), 1)
            self.assertEqual(closed.close_date, partner.close_date)
            self.assertEqual(closed.date_done, self.day_start(partner.close_date))
            self.assertLessEqual(closed.date_start, closed.date_done)
            self.assertFalse(partner.phase_line_ids.filtered(lambda line: line.state == "current"))
            self.assertFalse(partner.funnel_is_stale)
        report = self.env["crm.plus.winloss.report"].read_group(
            [("partner_id", "in", partners.ids)],
            ["won_count:sum", "lost_count:sum"],
            ["close_date:month"],
            orderby="close_date:month",
        )
        self.assertEqual(
            [
                (group["close_date:month"], group["won_count"], group["lost_count"])
                for group in report
            ],
            [("October 2025", 0, 1), ("December 2025", 1, 0), ("February 2026", 0, 1)],
        )
        # Outside the funnel: a type without phases, and no type.
        self.assertEqual(by_name["Juniper Florists"].account_type_id.name, "Customer")
        self.assertFalse(by_name["Juniper Florists"].funnel_state)
        self.assertFalse(by_name["Willow Accountants"].account_type_id)
        # The importer's default: no chatter message per row.
        self.assertEqual(
            self.env["mail.message"].search_count([("model", "=", "res.partner")]),
            messages_before,
        )

    def test_imported_closes_count_in_the_suggested_scores(self):
        """A close brought in by the importer moves the suggested-score statistics at once, as
        Close does: the nightly recount then finds nothing to change."""
        stats = self.env["crm.plus.phase.stat"]
        stats._refresh()

        def counts():
            return {
                (stat.company_id.id, stat.phase_id.id): (stat.reached_closed, stat.reached_won)
                for stat in stats.search([])
                if stat.reached_closed
            }

        before = counts()
        result = self.run_importer(EXAMPLE.read_bytes(), tracking_disable=True)
        self.assertFalse(self.errors(result), result["messages"])
        imported = counts()
        # Halcyon (won), Pebble Street and Northgate (lost) were closed in the Lead funnel:
        # all three reached its first phase.
        first = self.env.ref("crm_plus.phase_lead_first_contact")
        key = next(key for key in imported if key[1] == first.id)
        closed, won = before.get(key, (0, 0))
        self.assertEqual(imported[key], (closed + 3, won + 1))
        stats._refresh()
        self.assertEqual(counts(), imported)

    def test_example_file_tests_clean_then_imports(self):
        """Issue 20: the Test button shows errors and warnings alike under a red banner: on the
        example file (and the template) it has nothing to say, and the import brings each phase
        in from its row's own account type, Lead and Prospect sharing the phase names."""
        content = EXAMPLE.read_bytes()
        with file_open("crm_plus/static/xls/crm_plus_pipeline_import.csv", "rb") as template:
            template_content = template.read()
        for tested in (content, template_content):
            result = self.run_importer(tested, dryrun=True, tracking_disable=True)
            self.assertEqual(result["messages"], [])
            self.assertEqual(len(result["ids"]), 9)
        self.assertFalse(self.Partner.search([("email", "=", "info@brightwater.example")]))

        result = self.run_importer(content, tracking_disable=True)
        self.assertEqual(result["messages"], [])
        by_name = {partner.name: partner for partner in self.Partner.browse(result["ids"])}
        ref = self.env.ref
        for name, account_type, phase in (
            ("Brightwater Bakery", "account_type_lead", "phase_lead_first_contact"),
            ("Kestrel Logistics", "account_type_lead", "phase_lead_qualification"),
            ("Morningside Dental", "account_type_lead", "phase_lead_proposal"),
            ("Orchard & Vine", "account_type_prospect", "phase_prospect_negotiation"),
        ):
            partner = by_name[name]
            self.assertEqual(partner.account_type_id, ref(f"crm_plus.{account_type}"))
            self.assertEqual(partner.lead_phase_id, ref(f"crm_plus.{phase}"), name)
            self.assertEqual(partner.funnel_line_ids.phase_id, partner.account_type_id.phase_ids)
        for name, phase in (
            ("Halcyon Studios", "phase_lead_closing"),
            ("Pebble Street Cafe", "phase_lead_proposal"),
            ("Northgate Printing", "phase_lead_negotiation"),
        ):
            closed = by_name[name].phase_line_ids.filtered("close_outcome")
            self.assertEqual(closed.phase_id, ref(f"crm_plus.{phase}"), name)

    def test_phase_name_is_looked_up_in_the_row_type(self):
        ref = self.env.ref
        content = (
            "Name,Account Type,Lead Phase,In Phase Since\n"
            f"T-Prospect proposal,Prospect,Proposal,{self.ago(3)}\n"
            f"T-Lead proposal,LEAD,Proposal,{self.ago(3)}\n"
            # No history: the contact is put in the phase as it is created.
            "T-Prospect closing,PROS,Closing,\n"
            "T-Lead closing,Lead,Closing,\n"
        ).encode()
        tested = self.run_importer(content, dryrun=True)
        self.assertEqual(tested["messages"], [])
        result = self.run_importer(content)
        self.assertEqual(result["messages"], [])
        phases = {
            partner.name: partner.lead_phase_id for partner in self.Partner.browse(result["ids"])
        }
        self.assertEqual(
            phases,
            {
                "T-Prospect proposal": ref("crm_plus.phase_prospect_proposal"),
                "T-Lead proposal": ref("crm_plus.phase_lead_proposal"),
                "T-Prospect closing": ref("crm_plus.phase_prospect_closing"),
                "T-Lead closing": ref("crm_plus.phase_lead_closing"),
            },
        )

    def test_phase_of_another_type_is_refused_by_row(self):
        """A name the row's type does not have is not swapped for a phase of the same name
        there: a code names one phase, and a name of other types is theirs."""
        content = (
            "Name,Account Type,Lead Phase,In Phase Since\n"
            f"T-Good,Prospect,Proposal,{self.ago(3)}\n"
            # Lead's Proposal by its code, on a Prospect row
            f"T-Code of a Lead phase,Prospect,L-PROP,{self.ago(3)}\n"
            # a name of Lead and Prospect, on a type that has no phase of that name
            f"T-Name of other types,T-LEAD,Proposal,{self.ago(3)}\n"
            # the same without In Phase Since
            "T-No history,PROS,L-NEG,\n"
            "T-No phases,Customer,Proposal,\n"
        ).encode()
        for dryrun in (True, False):
            result = self.run_importer(content, dryrun=dryrun)
            self.assertFalse(result["ids"])
            errors = {message["record"]: message for message in self.errors(result)}
            self.assertEqual(set(errors), {1, 2, 3, 4}, result["messages"])
            for record, text in (
                (
                    1,
                    "T-Code of a Lead phase: the lead phase Proposal belongs to Lead, "
                    "not to Prospect.",
                ),
                (2, "not to T-Lead."),
                (
                    3,
                    "T-No history: the lead phase Negotiation belongs to Lead, not to Prospect.",
                ),
                (4, "T-No phases: the account type Customer has no lead phases"),
            ):
                self.assertIn(text, errors[record]["message"])
                # Each refusal on its own row (the importer shows "Error at row …").
                self.assertEqual(errors[record]["rows"], {"from": record, "to": record})
            self.assertRegex(
                errors[2]["message"],
                r"^T-Name of other types: the lead phase "
                r"Proposal belongs to (Lead|Prospect), not to T-Lead\.$",
            )
            self.assertFalse(
                self.Partner.search([("name", "in", ["T-Good", "T-No history", "T-No phases"])])
            )

    def test_tracking_on_logs_the_rows(self):
        """The importer's "Track history" option: each contact logs its creation, as any."""
        header = "Name,Account Type,Lead Phase,Close Reason,Close Date\n"
        content = (header + "T-Import won,T-LEAD,T-CL,T-W,2025-06-03\n").encode()
        result = self.run_importer(content, tracking_disable=False)
        self.assertFalse(self.errors(result), result["messages"])
        partner = self.Partner.browse(result["ids"])
        self.assertEqual(partner.account_type_id, self.customer_type, "type when won")
        self.assertEqual(partner.funnel_state, "won")
        self.assertTrue(partner.message_ids)

    # ------------------------------------------------------------------ refusals

    def bad_rows(self):
        return [
            ["T-Good", "T-LEAD", "T-QU", self.ago(3), "", "", ""],
            # a phase of another type
            ["T-Other type", "T-PROS", "T-QU", self.ago(3), "", "", ""],
            # won from a phase that is not the closing one
            ["T-Won early", "T-LEAD", "T-PR", "2025-01-02 10:00:00", "Won", "T-W", "2025-01-10"],
            # a date in the future
            ["T-Future", "T-LEAD", "T-QU", self.ago(-2), "", "", ""],
            # a reason with the wrong outcome
            [
                "T-Wrong reason",
                "T-LEAD",
                "T-CL",
                "2025-01-02 10:00:00",
                "Won",
                "T-L",
                "2025-01-10",
            ],
            # closed before entering the phase
            ["T-Backwards", "T-LEAD", "T-CL", "2025-03-01 10:00:00", "", "T-W", "2025-02-01"],
            ["T-Good too", "T-LEAD", "T-CL", "2025-03-01 10:00:00", "", "T-W", "2025-04-01"],
        ]

    def test_load_refuses_bad_rows_by_number(self):
        result = self.Partner.with_context(tracking_disable=True).load(FIELDS, self.bad_rows())
        self.assertIs(result["ids"], False, "nothing is half-imported")
        errors = {message["record"]: message for message in self.errors(result)}
        expected = {
            1: "T-Qualification belongs to T-Lead, not to T-Prospect",
            2: "can only be closed as won from the closing phase (T-Closing); it is in T-Proposal",
            3: "is in the future",
            4: "T-Price is a Lost reason, but the funnel state is Won",
            5: "the close date (2025-02-01) is before the phase started",
        }
        self.assertEqual(set(errors), set(expected), result["messages"])
        for record, text in expected.items():
            message = errors[record]["message"]
            self.assertIn(text, message)
            # Each refusal on its own row (the importer shows "Error at row …"), once.
            self.assertEqual(errors[record]["rows"], {"from": record, "to": record})
            # It names the contact of its row.
            self.assertTrue(message.startswith(self.bad_rows()[record][0]), message)
        self.assertEqual(len(self.errors(result)), len(expected), result["messages"])
        self.assertFalse(
            self.Partner.search([("name", "in", [row[0] for row in self.bad_rows()])]),
            "no contact of the file is left",
        )

    def test_closed_columns_need_a_reason_and_a_funnel(self):
        rows = [
            ["T-No reason", "T-LEAD", "T-CL", self.ago(3), "Won", "", ""],
            ["T-No type", "", "", self.ago(3), "", "", ""],
            ["T-No phases", "T-CUST", "", self.ago(3), "", "", ""],
            ["T-Closed tomorrow", "T-LEAD", "T-FC", "", "", "T-L", "2099-01-01"],
        ]
        result = self.Partner.load(FIELDS, rows)
        self.assertIs(result["ids"], False)
        messages = {message["record"]: message["message"] for message in self.errors(result)}
        self.assertIn("needs its close reason", messages[0])
        self.assertIn("needs an account type", messages[1])
        self.assertIn("T-Customer has no lead phases", messages[2])
        self.assertIn("the close date (2099-01-01) is in the future", messages[3])

    def test_test_mode_writes_nothing(self):
        header = (
            "Name,Account Type,Lead Phase,In Phase Since,Funnel State,Close Reason,Close Date\n"
        )
        good = header + "".join(
            ",".join(row) + "\n" for row in self.bad_rows() if row[0].startswith("T-Good")
        )
        lines_before = self.Line.search_count([])
        result = self.run_importer(good.encode(), dryrun=True)
        self.assertFalse(self.errors(result), result["messages"])
        self.assertFalse(self.Partner.search([("name", "like", "T-Good")]))
        self.assertEqual(self.Line.search_count([]), lines_before)

        bad = header + "".join(",".join(row) + "\n" for row in self.bad_rows())
        tested = self.run_importer(bad.encode(), dryrun=True)
        loaded = self.Partner.load(FIELDS, self.bad_rows())
        self.assertEqual(
            sorted((m["record"], m["message"]) for m in self.errors(tested)),
            sorted((m["record"], m["message"]) for m in self.errors(loaded)),
            "the Test button reports what the import refuses",
        )
        self.assertFalse(self.Partner.search([("name", "like", "T-Good")]))
        self.assertEqual(self.Line.search_count([]), lines_before)

    def test_import_needs_crm_plus(self):
        rows = [["T-Sneaky", "T-LEAD", "T-QU", self.ago(3), "", "", ""]]
        with self.assertRaises(AccessError):
            self.Partner.with_user(self.user_internal).load(FIELDS, rows)
        result = self.Partner.with_user(self.user_sales).load(FIELDS, rows)
        self.assertFalse(self.errors(result), result["messages"])
        self.assertEqual(self.Partner.browse(result["ids"]).lead_phase_id, self.phase_qualif)

    # ------------------------------------------------------------------ date corrections

    def test_manager_corrects_a_date_and_the_stale_flag_follows(self):
        partner = self.make_partners()
        partner.lead_phase_id = self.phase_qualif
        self.assertFalse(partner.funnel_is_stale)
        current = partner.funnel_line_ids.filtered(lambda line: line.state == "current")
        first = partner.funnel_line_ids.filtered(lambda line: line.phase_id == self.phase_first)
        as_manager = current.with_user(self.user_manager)

        as_manager.write({"date_start": self.ago(30)})
        self.assertEqual(partner.funnel_phase_date_start, self.now - timedelta(days=30))
        self.assertTrue(partner.funnel_is_stale)
        self.assertTrue(current.is_stale)
        self.assertIn("Funnel dates corrected", partner.message_ids[0].body)
        self.assertIn("T-Qualification", partner.message_ids[0].body)

        # The contact's own field, as the importer's update or an RPC client writes it.
        partner.with_user(self.user_manager).write({"funnel_phase_date_start": self.ago(2)})
        self.assertEqual(current.date_start, self.now - timedelta(days=2))
        self.assertFalse(partner.funnel_is_stale)

        first.with_user(self.user_manager).write(
            {"date_start": self.ago(9), "date_done": self.ago(5)}
        )
        self.assertEqual(first.date_done, self.now - timedelta(days=5))
        for line, vals in (
            (current, {"date_start": self.ago(-1)}),  # in the future
            (current, {"date_done": self.ago(1)}),  # not done
            (current, {"date_start": False}),
            (first, {"date_done": False}),
            (first, {"date_start": self.ago(4)}),  # after its completion
            (partner.funnel_line_ids[-1], {"date_start": self.ago(4)}),  # still to do
        ):
            with self.subTest(vals=vals), self.assertRaises(ValidationError):
                line.with_user(self.user_manager).write(vals)
        self.assertEqual(current.date_start, self.now - timedelta(days=2))
        self.assertEqual(first.date_done, self.now - timedelta(days=5))

    def test_crm_plus_user_cannot_correct_dates(self):
        partner = self.make_partners()
        current = partner.funnel_line_ids.filtered(lambda line: line.state == "current")
        start = current.date_start
        self.assertFalse(current.with_user(self.user_sales).can_correct_dates)
        self.assertTrue(current.with_user(self.user_manager).can_correct_dates)
        with self.assertRaises(AccessError):
            current.with_user(self.user_sales).write({"date_start": self.ago(30)})
        with self.assertRaises(AccessError):
            partner.with_user(self.user_sales).write({"funnel_phase_date_start": self.ago(30)})
        with self.assertRaises(AccessError):
            # The Overview page saves its lines through the contact.
            partner.with_user(self.user_sales).write(
                {"funnel_line_ids": [(1, current.id, {"date_start": self.ago(30)})]}
            )
        self.assertEqual(current.date_start, start)
        # What a CRM+ user edits on a line is still theirs to edit.
        current.with_user(self.user_sales).write({"score": 55})
        self.assertEqual(partner.funnel_score, 55)

    def test_overview_page_offers_the_dates_to_managers(self):
        arch = etree.fromstring(
            self.Partner.get_view(self.env.ref("base.view_partner_form").id, "form")["arch"]
        )
        readonly = {
            node.get("name"): node.get("readonly")
            for node in arch.xpath("//field[@name='funnel_line_ids']/list/field")
        }
        self.assertEqual(readonly["date_start"], "not can_correct_dates or state == 'todo'")
        self.assertEqual(readonly["date_done"], "not can_correct_dates or state != 'done'")

    # ------------------------------------------------------------------ round trip

    def import_compatible_fields(self):
        """The contact's fields the Export dialog offers for "I want to update data", as the web
        client asks for them (web's /web/export/get_fields with import_compat=True): the
        exportable fields that are not read-only."""
        described = self.Partner.fields_get(attributes=["readonly", "exportable"])
        return {
            fname
            for fname, field in described.items()
            if not field.get("readonly") and field.get("exportable", True)
        }

    def test_export_import_round_trip_carries_the_figures(self):
        """Issue 31 item 9: an import-compatible export of funnel contacts carries each deal's
        score, forecast and recurring value (Deal Score, Deal Forecast, Deal Recurring and its
        interval), and the copies loaded from it have the originals' figures, not $0."""
        offered = self.import_compatible_fields()
        deal_fields = [
            "funnel_deal_score",
            "funnel_deal_forecast_value",
            "funnel_deal_recurring_value",
            "funnel_deal_recurring_interval",
        ]
        self.assertLessEqual(set(deal_fields), offered)
        # The contact's own figures are computed from the lines (won 100, lost 0…): not offered.
        self.assertFalse({"funnel_score", "funnel_forecast_value"} & offered)
        # The dialog pre-selects the funnel columns and the figures, as it does the name.
        described = self.Partner.fields_get(attributes=["default_export_compatible"])
        for fname in [*FIELDS, *deal_fields]:
            self.assertTrue(described[fname].get("default_export_compatible"), fname)

        def current_line(partner):
            return partner.funnel_line_ids.filtered(lambda line: line.state == "current")

        open_partner = self.make_partners(name="T-FIG open")
        open_partner.action_advance_phase()
        current_line(open_partner).write(
            {
                "score": 55,
                "forecast_value": 12000,
                "recurring_value": 900,
                "recurring_interval": "quarter",
            }
        )
        won = self.make_partners(name="T-FIG won")
        won.write({"lead_phase_id": self.phase_closing.id})
        current_line(won).write(
            {
                "score": 80,
                "forecast_value": 50000,
                "recurring_value": 1200,
                "recurring_interval": "year",
            }
        )
        won.action_close(self.reason_won.id)
        self.assertEqual(won.account_type_id, self.customer_type, "type when won")
        lost = self.make_partners(name="T-FIG lost")
        lost.action_advance_phase()
        current_line(lost).write({"score": 35, "forecast_value": 8000})
        lost.action_close(self.reason_lost.id)
        outside = self.Partner.create({"name": "T-FIG outside"})
        partners = open_partner | won | lost | outside
        self.assertEqual(
            (won.funnel_deal_score, won.funnel_deal_forecast_value), (80, 50000), "closed in"
        )
        self.assertEqual(outside.funnel_deal_score, 0)

        columns = ["name", *[f for f in FIELDS[1:] if f in offered], *deal_fields]
        self.assertEqual(columns[1:-4], FIELDS[1:], "every funnel column is offered")
        content = self.export_file(partners, columns, "T-FIG")
        self.assertEqual(self.run_importer(content, dryrun=True)["messages"], [])
        result = self.run_importer(content)
        self.assertEqual(result["messages"], [])
        copies = {p.name: p for p in self.Partner.browse(result["ids"])}
        figures = [
            "funnel_state",
            "funnel_score",
            "funnel_forecast_value",
            "funnel_recurring_value",
            "funnel_weighted_value",
            *deal_fields,
        ]
        for original in partners:
            copy = copies[original.name.replace("T-FIG", "T-FIG copy")]
            for fname in figures:
                self.assertEqual(copy[fname], original[fname], f"{original.name}: {fname}")
        self.assertEqual(copies["T-FIG copy open"].funnel_forecast_value, 12000)
        self.assertEqual(copies["T-FIG copy open"].funnel_recurring_value, 300)
        self.assertEqual(copies["T-FIG copy won"].funnel_deal_forecast_value, 50000)
        self.assertFunnelInvariants(copies["T-FIG copy open"])

    def test_deal_figures_need_a_deal(self):
        """A figure for a contact outside any funnel is refused on its row, naming it; a bad
        score is refused as on the line; nothing is imported."""
        content = (
            b"Name,Account Type,Deal Forecast\n"
            b"T-FIG nowhere,,5000\n"
            b"T-FIG customer,T-Customer,100\n"
        )
        result = self.run_importer(content)
        self.assertFalse(result["ids"])
        messages = " ".join(message["message"] for message in self.errors(result))
        self.assertIn("T-FIG nowhere is in no funnel", messages)
        self.assertFalse(self.Partner.search([("name", "like", "T-FIG")]))
        partner = self.make_partners(name="T-FIG scored")
        # (Odoo's assertRaises rolls the failed write back, as a request would.)
        with self.assertRaises(ValidationError) as caught:
            partner.write({"funnel_deal_score": 150})
        self.assertIn("between 1 and 100", str(caught.exception))
        self.assertEqual(partner.funnel_deal_score, self.phase_first.default_score)
        # A lead phase and the figures in one write: the figures go on the new phase's line.
        partner.write({"lead_phase_id": self.phase_proposal.id, "funnel_deal_forecast_value": 700})
        current = partner.funnel_line_ids.filtered(lambda line: line.state == "current")
        self.assertEqual((current.phase_id, current.forecast_value), (self.phase_proposal, 700))

    def test_export_import_round_trip(self):
        """Export → "I want to update data" of funnel contacts (type, phase, In Phase Since,
        state, close reason, close date) loads back into new contacts with the same funnels:
        the importer maps the columns by itself, and a reason with its date is enough."""
        open_partner = self.make_partners(name="T-RT open")
        open_partner.action_advance_phase()
        lost = self.make_partners(name="T-RT lost")
        lost.action_advance_phase()
        lost.action_close(self.reason_lost.id)
        won = self.make_partners(name="T-RT won")
        won.write({"lead_phase_id": self.phase_closing.id})
        won.action_close(self.reason_won.id)
        self.assertEqual(won.account_type_id, self.customer_type, "type when won")
        partners = open_partner | lost | won
        columns = FIELDS
        content = self.export_file(partners, columns, "T-RT")
        tested = self.run_importer(content, dryrun=True)
        self.assertEqual(tested["messages"], [])
        result = self.run_importer(content)
        self.assertEqual(result["messages"], [])
        copies = {p.name: p for p in self.Partner.browse(result["ids"])}
        for original in partners:
            copy = copies[original.name.replace("T-RT", "T-RT copy")]
            for fname in columns[1:]:
                self.assertEqual(copy[fname], original[fname], f"{original.name}: {fname}")
            self.assertEqual(
                [(ln.phase_id, ln.state, ln.close_outcome) for ln in copy.phase_line_ids],
                [(ln.phase_id, ln.state, ln.close_outcome) for ln in original.phase_line_ids],
                original.name,
            )
        self.assertFunnelInvariants(copies["T-RT copy open"])
        # Written back as they are (an import that updates them), nothing moves.
        closed_copy = copies["T-RT copy lost"]
        lines_before = closed_copy.phase_line_ids.read(["state", "close_reason_id", "date_done"])
        closed_copy.write(
            {
                fname: closed_copy[fname].id if fname.endswith("_id") else closed_copy[fname]
                for fname in columns[1:]
            }
        )
        self.assertEqual(
            closed_copy.phase_line_ids.read(["state", "close_reason_id", "date_done"]),
            lines_before,
        )
