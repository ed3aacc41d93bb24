/** @odoo-module **/
// Figures on the current phase line, Complete phase up to Closing, Close… as won.

import { registry } from "@web/core/registry";
import * as tour from "@crm_plus/../tests/tours/crm_plus_tour_utils";

registry.category("web_tour.tours").add("crm_plus_tour_close_won", {
    steps: () => [
        tour.contactIsOpen("Tour Won Ltd"),
        ...tour.openOverview(),
        tour.currentPhaseIs("First contact"),
        ...tour.fillCurrentLine({ score: 40, forecast: 12000, recurring: 500 }),
        // The button saves the line's figures, then completes the phase.
        ...tour.completePhase("Qualification"),
        tour.fieldShows("funnel_forecast_value", "12,000.00"),
        tour.fieldShows("funnel_recurring_value", "500.00"),
        {
            content: "First contact is done, with the score entered",
            trigger: ".o_data_row:has(td[name=phase_id]:contains(First contact)):has(td[name=state]:contains(Done)) td[name=score]:contains(40)",
        },
        ...tour.completePhase("Proposal"),
        ...tour.completePhase("Negotiation"),
        ...tour.completePhase("Closing"),
        {
            content: "In the closing phase there is no phase to complete anymore",
            trigger: ".o_form_view:not(:has(button[name=action_advance_phase]))",
        },
        ...tour.closeWithWonReason("Contract signed"),
        {
            content: "The reason is a won one",
            trigger: ".modal .o_field_widget[name=outcome]:contains(Won)",
        },
        ...tour.confirmClose("Won"),
        {
            content: "Its account type switched to Customer",
            trigger: ".o_field_widget[name=account_type_id] input:value(Customer)",
        },
        {
            content: "Customer has no phases, yet the closed funnel stays on the Overview page",
            trigger: `${tour.OVERVIEW_TAB}.active`,
        },
        // Won: the deal counts 100 % of its amount, also once its type has no phases.
        tour.fieldShows("funnel_score", "100"),
        tour.fieldShows("funnel_forecast_value", "12,000.00"),
        tour.fieldShows("funnel_weighted_value", "12,000.00"),
        tour.fieldShows("funnel_recurring_value", "500.00"),
        {
            content: "The Closing line holds the won close",
            trigger: `${tour.CLOSED_LINES} .o_data_row:has(td[name=phase_id]:contains(Closing)) td[name=close_reason_id]:contains(Contract signed)`,
        },
        {
            content: "The funnel can be reopened",
            trigger: "button[name=action_reopen]",
        },
    ],
});
