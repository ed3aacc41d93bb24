/** @odoo-module **/
// A score of 150 on a phase line: Odoo's error dialog, and nothing is saved.

import { registry } from "@web/core/registry";
import {
    CURRENT_LINE,
    contactIsOpen,
    currentPhaseIs,
    fieldShows,
    openOverview,
} from "@crm_plus/../tests/tours/crm_plus_tour_utils";

registry.category("web_tour.tours").add("crm_plus_tour_bad_score", {
    steps: () => [
        contactIsOpen("Tour Bad Input Ltd"),
        ...openOverview(),
        currentPhaseIs("First contact"),
        {
            content: "Edit the current phase line",
            trigger: `${CURRENT_LINE} td[name=score]`,
            run: "click",
        },
        {
            content: "A forecast (must not be saved either)",
            trigger: ".o_selected_row .o_field_widget[name=forecast_value] input",
            run: "edit 7000",
        },
        {
            content: "Score 150: out of the 1–100 range",
            trigger: ".o_selected_row .o_field_widget[name=score] input",
            run: "edit 150",
        },
        {
            content: "Save",
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "Odoo shows the validation error",
            trigger: ".modal .modal-title:contains(Validation Error)",
        },
        {
            content: "…saying what is wrong",
            trigger: ".modal .modal-body:contains(must be between 1 and 100)",
        },
        {
            content: "Close the error",
            trigger: ".modal .modal-footer .btn-primary",
            run: "click",
        },
        {
            content: "The form still holds the unsaved change",
            trigger: ".o_form_view:not(:has(.modal)) .o_form_dirty",
        },
        {
            content: "Discard the changes",
            trigger: ".o_form_button_cancel",
            run: "click",
        },
        {
            content: "Back to the saved values",
            trigger: ".o_form_view .o_form_saved",
        },
        {
            content: "The line's score is 10 again",
            trigger: `${CURRENT_LINE} td[name=score]:contains(10), ${CURRENT_LINE} td[name=score] input:value(10)`,
        },
        fieldShows("funnel_score", "10"),
        fieldShows("funnel_forecast_value", "0.00"),
    ],
});
