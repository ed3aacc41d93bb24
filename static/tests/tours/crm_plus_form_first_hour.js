/** @odoo-module **/
// A new user's first hour (issue 20): a contact created from Contacts goes through the whole
// funnel, is won (and switched to Customer) without losing sight of its funnel, then reopened.

import { registry } from "@web/core/registry";
import {
    CLOSED_LINES,
    CURRENT_LINE,
    FUNNEL_LINES,
    NO_OVERVIEW_TAB,
    OVERVIEW_TAB,
    closeWithWonReason,
    completePhase,
    confirmClose,
    contactIsOpen,
    currentPhaseIs,
    fieldShows,
    fillCurrentLine,
    newContact,
    reopen,
    saveForm,
} from "@crm_plus/../tests/tours/crm_plus_tour_utils";

const NAME = "Tour First Hour Ltd";
const closedLine = (phase) => `${CLOSED_LINES} .o_data_row:has(td[name=phase_id]:contains(${phase}))`;

/** The ribbon is drawn in the top right corner of the sheet, not further down the form. */
function ribbonAtTopRight(title) {
    return {
        content: `The ${title} ribbon sits in the top right corner of the sheet`,
        trigger: `.o_form_sheet .ribbon:contains(${title})`,
        run() {
            const sheet = document.querySelector(".o_form_sheet").getBoundingClientRect();
            const ribbon = [...document.querySelectorAll(".o_form_sheet .ribbon")]
                .find((el) => el.textContent.includes(title))
                .getBoundingClientRect();
            if (Math.abs(ribbon.top - sheet.top) > 20 || Math.abs(ribbon.right - sheet.right) > 20) {
                throw new Error(
                    `The ${title} ribbon is at (${ribbon.top}, ${ribbon.right}), the sheet's top ` +
                        `right corner at (${sheet.top}, ${sheet.right})`
                );
            }
        },
    };
}

registry.category("web_tour.tours").add("crm_plus_tour_form_first_hour", {
    steps: () => [
        ...newContact(NAME, "Lead"),
        {
            content: "Lead has phases: the Overview page appears, and is the one shown",
            trigger: `${OVERVIEW_TAB}.active`,
        },
        ...saveForm(),
        currentPhaseIs("First contact"),
        {
            content: "Back to the contacts",
            trigger: ".o_breadcrumb .o_back_button a",
            run: "click",
        },
        {
            content: "Search the new contact",
            trigger: ".o_searchview_input",
            run: `edit ${NAME}`,
        },
        {
            trigger: ".o_searchview_autocomplete",
        },
        {
            trigger: ".o_searchview_input",
            run: "press Enter",
        },
        {
            content: "Open it again",
            trigger: `.o_kanban_record:contains(${NAME}), .o_data_row td[name=complete_name]:contains(${NAME})`,
            run: "click",
        },
        contactIsOpen(NAME),
        {
            content: "The form opens on the Overview page, without a click on its tab",
            trigger: `${OVERVIEW_TAB}.active`,
        },
        {
            trigger: ".o_notebook .tab-pane.active .o_field_widget[name=lead_phase_id]",
        },
        currentPhaseIs("First contact"),
        ...fillCurrentLine({ score: 40, forecast: 24000, recurring: 300 }),
        ...completePhase("Qualification"),
        fieldShows("funnel_forecast_value", "24,000.00"),
        ...completePhase("Proposal"),
        ...completePhase("Negotiation"),
        ...completePhase("Closing"),
        fieldShows("funnel_forecast_value", "24,000.00"),
        {
            content: "The carried forecast is not summed over the phases (no 120,000 total)",
            trigger: `${FUNNEL_LINES}:not(:has(tfoot :contains(120,000)))`,
        },
        ...closeWithWonReason("Contract signed"),
        ...confirmClose("Won"),
        ribbonAtTopRight("Won"),
        {
            content: "Its account type switched to Customer",
            trigger: ".o_field_widget[name=account_type_id] input:value(Customer)",
        },
        {
            content: "The Overview page is still there, and shown",
            trigger: `${OVERVIEW_TAB}.active`,
        },
        fieldShows("funnel_state", "Won"),
        fieldShows("funnel_shown_type_id", "Lead"),
        fieldShows("close_reason_id", "Contract signed"),
        {
            content: "The close date shows",
            trigger: ".o_form_view .o_field_widget[name=close_date]:not(:empty)",
        },
        {
            content: "The Closing line holds the won close",
            trigger: `${closedLine("Closing")} td[name=close_reason_id]:contains(Contract signed)`,
        },
        {
            content: "The first line keeps the figures entered",
            trigger: `${closedLine("First contact")} td[name=forecast_value]:contains(24,000.00)`,
        },
        {
            content: "A closed funnel offers no suggested score to use",
            trigger: ".o_form_view:not(:has(button[name=action_use_suggested_score]))",
        },
        ...reopen(),
        {
            content: "Back on Lead",
            trigger: ".o_field_widget[name=account_type_id] input:value(Lead)",
        },
        {
            content: "The ribbon is gone",
            trigger: ".o_form_view:not(:has(.ribbon:contains(Won)))",
        },
        fieldShows("funnel_state", "Open"),
        currentPhaseIs("Closing"),
        {
            content: "The Closing line is current again, without the close",
            // The close reason column is optional (hidden): the row has no close either way.
            trigger: `${CURRENT_LINE}:has(td[name=phase_id]:contains(Closing)):not(:has(td[name=close_reason_id]:contains(Contract signed)))`,
        },
        {
            content: "The funnel can be closed again",
            trigger: "button[name=action_open_close_wizard]",
        },
    ],
});

registry.category("web_tour.tours").add("crm_plus_tour_form_no_funnel", {
    steps: () => [
        contactIsOpen("Tour Customer Only Ltd"),
        {
            content: "A Customer that never was in a funnel has no Overview page",
            trigger: NO_OVERVIEW_TAB,
        },
        {
            content: "The form opens on Contacts & Addresses, as in Odoo",
            trigger: ".o_notebook_headers a.nav-link.active[name=contact_addresses]",
        },
        {
            content: "No ribbon either",
            trigger: ".o_form_view .o_form_sheet:not(:has(.ribbon))",
        },
    ],
});
