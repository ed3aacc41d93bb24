/** @odoo-module **/
// A salesperson opens CRM+: the pipeline board shows their own funnel (My Funnel), moves one
// of their cards, and sees the whole team's board once the filter is removed.

import { registry } from "@web/core/registry";
import { openCrmPlusApp } from "@crm_plus/../tests/tours/crm_plus_tour_utils";

const COLUMN = (phase) => `.o_kanban_group:has(.o_column_title:contains(${phase}))`;
const OWN_CARD = ".o_kanban_record:contains(Tour Own Deal Ltd)";
const COLLEAGUE_CARD = ".o_kanban_record:contains(Tour Colleague Deal Ltd)";
const MY_FUNNEL_FACET = ".o_searchview_facet:contains(My Funnel)";

registry.category("web_tour.tours").add("crm_plus_tour_pipeline_salesperson", {
    steps: () => [
        ...openCrmPlusApp(),
        {
            content: "The board opens on the salesperson's own funnel",
            trigger: MY_FUNNEL_FACET,
        },
        {
            content: "Their own deal is on the board",
            trigger: `${COLUMN("First contact")} ${OWN_CARD}`,
        },
        {
            content: "A colleague's deal is not",
            trigger: `.o_kanban_renderer:not(:has(${COLLEAGUE_CARD}))`,
        },
        {
            content: "Drag their deal to the next phase",
            trigger: OWN_CARD,
            run: `drag_and_drop (${COLUMN("Qualification")})`,
        },
        {
            content: "The deal is now in Qualification",
            trigger: `${COLUMN("Qualification")} ${OWN_CARD}`,
        },
        {
            content: "Remove the My Funnel filter",
            trigger: `${MY_FUNNEL_FACET} .o_facet_remove`,
            run: "click",
        },
        {
            content: "The team's board shows the colleague's deal too",
            trigger: `${COLUMN("First contact")} ${COLLEAGUE_CARD}`,
        },
        {
            trigger: `${COLUMN("Qualification")} ${OWN_CARD}`,
        },
    ],
});
