/** @odoo-module **/
// A salesperson's day (issue 31): CRM+ opens on their own funnel; a new deal from the
// Pipeline's New is theirs (salesperson filled in) and shows its days in phase; its figures
// typed in, a phase completed; back on the board under My Funnel; then Reporting → Forecast
// lists it by its learned expected closing month.

import { registry } from "@web/core/registry";
import {
    backToPipeline,
    completePhase,
    contactIsOpen,
    currentPhaseIs,
    fillCurrentLine,
    newContact,
    openCrmPlusApp,
    saveForm,
} from "@crm_plus/../tests/tours/crm_plus_tour_utils";

const NAME = "Day New Deal Ltd";
const COLUMN = (phase) => `.o_kanban_group:has(.o_column_title:contains(${phase}))`;
const CARD = `.o_kanban_record:contains(${NAME})`;

registry.category("web_tour.tours").add("crm_plus_tour_salesperson_day", {
    steps: () => [
        ...openCrmPlusApp(),
        {
            content: "The board opens on the salesperson's own funnel",
            trigger: ".o_searchview_facet:contains(My Funnel)",
        },
        {
            content: "Yesterday's deal is there, with its days in phase",
            trigger: `.o_kanban_record:contains(Day Old Deal Ltd) .o_crm_plus_days_in_phase:contains(3 days in phase)`,
        },
        ...newContact(NAME, "Lead"),
        ...saveForm(),
        contactIsOpen(NAME),
        {
            content: "Saved with a type, the form shows Overview",
            trigger: ".o_notebook_headers a.nav-link.active[name=crm_plus_overview]",
        },
        currentPhaseIs("First contact"),
        {
            content: "Overview shows the days in the phase",
            trigger: ".o_notebook .tab-pane.active .o_crm_plus_days_in_phase:contains(0 days in phase)",
        },
        ...fillCurrentLine({ score: 20, forecast: 15000, recurring: 0 }),
        ...saveForm(),
        ...completePhase("Qualification"),
        ...backToPipeline(),
        {
            content: "The new deal is theirs: on My Funnel, in Qualification",
            trigger: `${COLUMN("Qualification")} ${CARD}`,
        },
        {
            trigger: ".o_searchview_facet:contains(My Funnel)",
        },
        {
            content: "Reporting → Forecast",
            trigger: ".o_main_navbar button:contains(Reporting)",
            run: "click",
        },
        {
            trigger: ".dropdown-item[data-menu-xmlid='crm_plus.crm_plus_forecast_report_menu']",
            run: "click",
        },
        {
            content: "The forecast opens",
            trigger: ".o_breadcrumb .active:contains(Forecast)",
        },
        {
            content: "Switch to the list",
            trigger: ".o_switch_view.o_list",
            run: "click",
        },
        {
            content: "The new deal has an expected closing, learned from the type's history",
            trigger: `.o_list_view .o_data_row:has(td[name=partner_id]:contains(${NAME})) td[name=expected_close_date]:not(:empty)`,
        },
    ],
});
