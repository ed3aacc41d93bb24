/** @odoo-module **/
// CRM+'s three access levels (issue 31 item 1), each as its user clicks through the web client
// (tests/test_tours_levels.py): an own-documents salesperson works their own deal and sees a
// colleague's contact without its funnel buttons; an all-documents user works the colleague's
// deal; a CRM+ Administrator reaches Configuration.

import { registry } from "@web/core/registry";
import {
    backToPipeline,
    completePhase,
    confirmClose,
    contactIsOpen,
    currentPhaseIs,
    fieldShows,
    openCloseDialog,
    openCrmPlusApp,
    openOverview,
    reopen,
    selectMany2one,
} from "@crm_plus/../tests/tours/crm_plus_tour_utils";

const OWN = "Level Own Deal Ltd";
const COLLEAGUE = "Level Colleague Deal Ltd";
const CONFIG_MENU = ".o_menu_sections [data-menu-xmlid='crm_plus.crm_plus_menu_config']";
// The menu bar once loaded (Reporting is there), without Configuration.
const NO_CONFIG_MENU = `.o_menu_sections:has([data-menu-xmlid='crm_plus.crm_plus_menu_reporting']):not(:has(${CONFIG_MENU}))`;
const MY_FUNNEL_FACET = ".o_searchview_facet:contains(My Funnel)";
const card = (name) => `.o_kanban_record:contains(${name})`;

/** From the board, the card of `name` opens its contact on Overview. */
function openCard(name) {
    return [
        {
            content: `Open ${name} from the board`,
            trigger: `.o_kanban_renderer ${card(name)}`,
            run: "click",
        },
        contactIsOpen(name),
        ...openOverview(),
    ];
}

function showTeamBoard() {
    return [
        {
            content: "The board opens on My Funnel: remove the filter to see the team's deals",
            trigger: `${MY_FUNNEL_FACET} .o_facet_remove`,
            run: "click",
        },
        {
            trigger: `.o_control_panel:not(:has(${MY_FUNNEL_FACET}))`,
        },
    ];
}

registry.category("web_tour.tours").add("crm_plus_tour_level_own", {
    steps: () => [
        ...openCrmPlusApp(),
        {
            content: "Own documents: no Configuration menu",
            trigger: NO_CONFIG_MENU,
        },
        {
            content: "The board shows the salesperson's own deal",
            trigger: `${MY_FUNNEL_FACET}`,
        },
        ...openCard(OWN),
        currentPhaseIs("First contact"),
        ...completePhase("Qualification"),
        openCloseDialog(),
        ...selectMany2one("close_reason_id", "Too expensive", ".modal"),
        ...confirmClose("Lost"),
        fieldShows("funnel_state", "Lost"),
        ...reopen(),
        fieldShows("funnel_state", "Open"),
        currentPhaseIs("Qualification"),
        ...backToPipeline(),
        ...showTeamBoard(),
        ...openCard(COLLEAGUE),
        {
            content: "The colleague's contact is there to read: its phone, its funnel",
            trigger: ".o_form_view .o_field_widget[name=phone]",
            run() {
                const text = this.anchor.querySelector("input")?.value ?? this.anchor.textContent;
                if (!text.includes("555-0199")) {
                    throw new Error(`The colleague's phone reads ${text}`);
                }
            },
        },
        currentPhaseIs("First contact"),
        {
            content: "…and its Overview says why it cannot be worked",
            trigger: ".o_notebook .tab-pane.active .text-muted:contains(Your access level (User: Own Documents Only))",
        },
        {
            content: "No Complete phase, Close… or Reopen on a colleague's deal",
            trigger:
                ".o_form_view:not(:has(button[name=action_advance_phase])):not(:has(button[name=action_open_close_wizard])):not(:has(button[name=action_reopen]))",
        },
        {
            content: "The funnel lines are read-only",
            trigger: ".o_field_widget[name=funnel_line_ids].o_readonly_modifier, .o_field_widget[name=funnel_line_ids]:has(.o_list_renderer:not(.o_list_renderer_editable))",
        },
    ],
});

registry.category("web_tour.tours").add("crm_plus_tour_level_all", {
    steps: () => [
        ...openCrmPlusApp(),
        {
            content: "All documents: no Configuration menu either",
            trigger: NO_CONFIG_MENU,
        },
        {
            content: "With no deal of their own, the board opens on the team's deals",
            trigger: `.o_control_panel:has(.o_searchview_facet):not(:has(${MY_FUNNEL_FACET}))`,
        },
        ...openCard(COLLEAGUE),
        currentPhaseIs("First contact"),
        // The colleague's deal can be worked.
        ...completePhase("Qualification"),
        {
            content: "The Overview says nothing of an access level",
            trigger: ".o_form_view:not(:has(.text-muted:contains(Your access level)))",
        },
        ...backToPipeline(),
        {
            content: "The card moved to Qualification",
            trigger: `.o_kanban_group:has(.o_column_title:contains(Qualification)) ${card(COLLEAGUE)}`,
        },
    ],
});

registry.category("web_tour.tours").add("crm_plus_tour_level_admin", {
    steps: () => [
        ...openCrmPlusApp(),
        {
            content: "The CRM+ Administrator has a Configuration menu",
            trigger: CONFIG_MENU,
            run: "click",
        },
        {
            content: "Configuration → Account Types",
            trigger: ".dropdown-menu [data-menu-xmlid='crm_plus.crm_plus_account_type_menu']",
            run: "click",
        },
        {
            content: "The account types list opens, with its contacts",
            trigger: ".o_list_view .o_data_row td[name=name]:contains(Lead)",
            run: "click",
        },
        {
            content: "Lead's form lists its lead phases",
            trigger: ".o_form_view .o_field_widget[name=phase_ids] .o_data_row:contains(Qualification)",
        },
        {
            content: "Configuration → Close Reasons",
            trigger: CONFIG_MENU,
            run: "click",
        },
        {
            trigger: ".dropdown-menu [data-menu-xmlid='crm_plus.crm_plus_close_reason_menu']",
            run: "click",
        },
        {
            content: "New close reason",
            trigger: ".o_list_view .o_list_button_add",
            run: "click",
        },
        {
            content: "Name it",
            trigger: ".o_form_view .o_field_widget[name=name] input",
            run: "edit Level Budget frozen",
        },
        {
            trigger: ".o_form_view .o_field_widget[name=code] input",
            run: "edit L-LBUD",
        },
        {
            content: "A lost reason",
            trigger: ".o_form_view .o_field_widget[name=outcome] input[data-value=lost]",
            run: "click",
        },
        {
            content: "Save",
            trigger: ".o_form_view .o_form_button_save",
            run: "click",
        },
        {
            trigger: ".o_form_view .o_form_saved",
        },
        {
            content: "Configuration lists the account types, lead phases and close reasons…",
            trigger: CONFIG_MENU,
            run: "click",
        },
        {
            trigger: ".dropdown-menu:has([data-menu-xmlid='crm_plus.crm_plus_lead_phase_menu']):has([data-menu-xmlid='crm_plus.crm_plus_account_type_menu'])",
        },
        {
            // As in Odoo CRM: Settings is for the users with Settings' own access right.
            content: "…and not Settings, which needs Odoo's Administration: Settings right",
            trigger: ".dropdown-menu:has([data-menu-xmlid='crm_plus.crm_plus_close_reason_menu']):not(:has([data-menu-xmlid='crm_plus.res_config_settings_menu']))",
        },
    ],
});
