/** @odoo-module **/
// A lost close from an early phase, then Reopen.

import { registry } from "@web/core/registry";
import {
    confirmClose,
    contactIsOpen,
    currentPhaseIs,
    fieldShows,
    openCloseDialog,
    openOverview,
    reopen,
    selectMany2one,
} from "@crm_plus/../tests/tours/crm_plus_tour_utils";

registry.category("web_tour.tours").add("crm_plus_tour_close_lost_reopen", {
    steps: () => [
        contactIsOpen("Tour Lost Ltd"),
        ...openOverview(),
        currentPhaseIs("Qualification"),
        openCloseDialog(),
        {
            content: "Before the closing phase the dialog says only a lost close is possible",
            trigger: ".modal .alert-info:contains(Only a lost close is possible)",
        },
        {
            content: "Open the close reasons",
            trigger: ".modal .o_field_widget[name=close_reason_id] input",
            run: "click",
        },
        {
            content: "Lost reasons are offered, won ones are not",
            trigger:
                ".o-autocomplete--dropdown-menu:has(a:contains(Too expensive)):not(:has(a:contains(Contract signed)))",
        },
        ...selectMany2one("close_reason_id", "Too expensive", ".modal"),
        ...confirmClose("Lost"),
        fieldShows("funnel_state", "Lost"),
        fieldShows("close_reason_id", "Too expensive"),
        {
            content: "A closed funnel has no Complete phase nor Close button",
            trigger:
                ".o_form_view:not(:has(button[name=action_advance_phase])):not(:has(button[name=action_open_close_wizard]))",
        },
        ...reopen(),
        {
            content: "The ribbon is gone",
            trigger: ".o_form_view:not(:has(.ribbon))",
        },
        fieldShows("funnel_state", "Open"),
        currentPhaseIs("Qualification"),
        {
            content: "The funnel can go on",
            trigger: "button[name=action_advance_phase]",
        },
    ],
});
