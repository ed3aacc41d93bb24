/** @odoo-module **/
// The manager's dashboard: from CRM+ → Reporting → Dashboard, its tiles, a tile opening the
// closes it counts, back to the dashboard, a phase opening its funnel analysis.

import { registry } from "@web/core/registry";
import { openCrmPlusApp } from "@crm_plus/../tests/tours/crm_plus_tour_utils";

registry.category("web_tour.tours").add("crm_plus_tour_dashboard", {
    steps: () => [
        ...openCrmPlusApp(),
        {
            content: "The pipeline board opens",
            trigger: ".o_kanban_view .o_kanban_group",
        },
        {
            content: "Open Reporting",
            trigger: ".o_main_navbar button:contains(Reporting)",
            run: "click",
        },
        {
            content: "Dashboard is Reporting's first entry",
            trigger: ".dropdown-menu .dropdown-item:first-child[data-menu-xmlid='crm_plus.crm_plus_dashboard_menu']",
            run: "click",
        },
        {
            content: "The dashboard shows the open and weighted pipeline",
            trigger: ".o_crm_plus_dashboard .o_crm_plus_tile_open:contains(Open Pipeline) .o_crm_plus_tile_value",
        },
        {
            trigger: ".o_crm_plus_tile_weighted:contains(Weighted Pipeline) .o_crm_plus_tile_value",
        },
        {
            content: "…won this month and quarter, the win rate and the stale deals",
            trigger: ".o_crm_plus_tile_won_quarter:contains(Won This Quarter)",
        },
        {
            trigger: ".o_crm_plus_tile_win_rate .o_crm_plus_tile_value:contains(%)",
        },
        {
            trigger: ".o_crm_plus_tile_stale:contains(Stale Deals)",
        },
        {
            content: "…conversion by phase, forecast by month and the lost reasons",
            trigger: ".o_crm_plus_dashboard_phase:contains(Qualification)",
        },
        {
            trigger: ".o_crm_plus_dashboard_month",
        },
        {
            trigger: ".o_crm_plus_dashboard_reason",
        },
        {
            content: "Click Won This Month",
            trigger: ".o_crm_plus_tile_won_month",
            run: "click",
        },
        {
            content: "The Win/Loss Analysis opens on this month's wins",
            trigger: ".o_breadcrumb .active:contains(Win/Loss Analysis)",
        },
        {
            trigger: ".o_graph_view, .o_pivot_view, .o_list_view",
        },
        {
            content: "Back to the dashboard",
            trigger: ".o_breadcrumb a:contains(Dashboard)",
            run: "click",
        },
        {
            content: "Click a phase",
            trigger: ".o_crm_plus_dashboard_phase:contains(Qualification)",
            run: "click",
        },
        {
            content: "The Funnel Analysis opens",
            trigger: ".o_breadcrumb .active:contains(Funnel Analysis)",
        },
    ],
});
