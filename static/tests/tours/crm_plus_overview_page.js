/** @odoo-module **/
// A contact's Overview page exists exactly while its account type has lead phases.

import { registry } from "@web/core/registry";
import {
    NO_OVERVIEW_TAB,
    OVERVIEW_TAB,
    contactIsOpen,
    currentPhaseIs,
    openOverview,
    saveForm,
    selectMany2one,
} from "@crm_plus/../tests/tours/crm_plus_tour_utils";

registry.category("web_tour.tours").add("crm_plus_tour_overview_page", {
    steps: () => [
        contactIsOpen("Tour Overview Ltd"),
        ...openOverview(),
        currentPhaseIs("First contact"),
        ...selectMany2one("account_type_id", "Customer"),
        {
            content: "Customer has no lead phases: the Overview page is gone",
            trigger: NO_OVERVIEW_TAB,
        },
        ...saveForm(),
        {
            content: "…and stays gone once saved",
            trigger: NO_OVERVIEW_TAB,
        },
        ...selectMany2one("account_type_id", "Lead"),
        {
            content: "Back to Lead: the Overview page is there again",
            trigger: OVERVIEW_TAB,
        },
        ...saveForm(),
        {
            content: "…and shown, without a click on its tab",
            trigger: `${OVERVIEW_TAB}.active`,
        },
        ...openOverview(),
        currentPhaseIs("First contact"),
        {
            content: "The funnel is open again",
            trigger: ".o_field_widget[name=funnel_state]:contains(Open)",
        },
    ],
});
