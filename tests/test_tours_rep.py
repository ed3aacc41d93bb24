"""Tours of the reports and the pipeline board as a person sees them: each report grouped by
account type, then phase; the win/loss graph's colours; the board's filter and column titles
kept over a reload of the page."""

from datetime import date
from itertools import pairwise

from dateutil.relativedelta import relativedelta
from freezegun import freeze_time

from odoo.tests import tagged

from ..compat import grouped_labels
from .common import CrmPlusTourCase


@tagged("post_install", "-at_install")
class TestCrmPlusReportTours(CrmPlusTourCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.type_prospect = cls.env.ref("crm_plus.account_type_prospect")
        cls.lead_phases = cls.type_lead.phase_ids.filtered("active").sorted("sequence")
        cls.prospect_phases = cls.type_prospect.phase_ids.filtered("active").sorted("sequence")

    def prospect(self, name, **vals):
        return self.Partner.create(
            dict(
                {"name": name, "is_company": True, "account_type_id": self.type_prospect.id},
                **vals,
            )
        )

    def close_won(self, partner):
        while partner.lead_phase_id != self.phase_closing:
            partner.action_advance_phase()
        partner.action_close(self.reason_won.id)

    def test_tour_reports_grouped_by_type_then_phase(self):
        # A Lead and a Prospect in the funnel: both start in a phase named "First contact".
        lead = self.lead("Rep Lead Ltd")
        self.current_line(lead).forecast_value = 1000
        prospect = self.prospect("Rep Prospect Ltd")
        prospect.action_advance_phase()
        self.current_line(prospect).forecast_value = 2000
        # Two months ago only a lost close, this month a won one: the graph's first series is
        # Lost, which Odoo's palette used to draw blue (and Won, the second, red).
        today = date.today()
        with freeze_time(today - relativedelta(months=2)):
            self.lead("Rep Lost Ltd").action_close(self.reason_lost.id)
        won = self.lead("Rep Won Ltd")
        self.close_won(won)
        self.assertEqual(won.funnel_state, "won")
        # The calibration report shows what its daily refresh computed: run it now.
        self.env["crm.plus.calibration.report"]._refresh()

        self.run_tour("/odoo", "crm_plus_tour_reports")

        # What the grouped reads give the views the tour saw: a phase whose name another type
        # shares says its type, even where one type shows (the pivot numbers equal names
        # across all the groups it reads, header by header).
        Funnel = self.env["crm.plus.funnel.report"]
        first_lead, first_prospect = self.lead_phases[0], self.prospect_phases[0]
        self.assertEqual(first_lead.name, first_prospect.name)
        for domain in (
            [("partner_id", "in", (lead | prospect).ids)],
            [("partner_id", "=", lead.id)],
        ):
            labels = dict(grouped_labels(Funnel, domain, "phase_id"))
            self.assertEqual(labels[first_lead.id], f"Lead / {first_lead.name}")
            self.assertEqual(len(set(labels.values())), len(labels))
        self.assertEqual(labels.get(first_prospect.id), None)
        # A name of its own stays as it is.
        first_prospect.name = "Prospect intake"
        labels = dict(grouped_labels(Funnel, [("partner_id", "=", prospect.id)], "phase_id"))
        self.assertEqual(labels[first_prospect.id], "Prospect intake")
        self.assertEqual(
            labels[self.prospect_phases[1].id], f"Prospect / {self.prospect_phases[1].name}"
        )

    def test_tour_pipeline_filter_survives_reload(self):
        lead = self.lead("Rep Board Lead")
        prospect = self.prospect("Rep Board Prospect")
        self.run_tour("/odoo", "crm_plus_tour_pipeline_reload")
        # The board's URL runs the server action again: it has a path of its own.
        action = self.env.ref("crm_plus.res_partner_action_pipeline_server")
        self.assertEqual(action.path, "crm-plus-pipeline")
        context = self.Partner.action_crm_plus_pipeline()["context"]
        self.assertEqual(context["search_default_account_type_id"], self.type_lead.id)
        # Nothing the tour did moved the cards.
        self.assertEqual(lead.lead_phase_id, self.phase_first)
        self.assertEqual(prospect.lead_phase_id, self.prospect_phases[0])
        # On the Lead filter, the columns are the phases' names.
        domain = [("funnel_state", "=", "open"), ("lead_phase_id", "!=", False)]
        columns = grouped_labels(
            self.Partner, [*domain, ("account_type_id", "=", self.type_lead.id)], "lead_phase_id"
        )
        self.assertEqual([title for _id, title in columns], self.lead_phases.mapped("name"))
        # Without the filter, the board's columns: each type's phases together, titled with
        # the type.
        columns = grouped_labels(self.Partner, domain, "lead_phase_id")
        titles = [title for _phase_id, title in columns]
        self.assertEqual(len(set(titles)), len(titles), titles)
        self.assertIn(f"Lead / {self.phase_first.name}", titles)
        self.assertIn(f"Prospect / {self.prospect_phases[0].name}", titles)
        types = [self.env["crm.plus.lead.phase"].browse(pid).account_type_id for pid, _ in columns]
        changes = sum(1 for before, after in pairwise(types) if before != after)
        self.assertEqual(changes, len(set(types)) - 1, "the columns of each type stay together")
