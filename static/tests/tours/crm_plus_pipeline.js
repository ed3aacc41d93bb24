/** @odoo-module **/
// CRM+ → Pipeline: the columns of the account type, a card dragged to the next phase, the
// column's count and its sum with the currency, the pivot and graph of the board; Reporting →
// Win/Loss Analysis opens its pivot.

import { registry } from "@web/core/registry";
import { openCrmPlusApp } from "@crm_plus/../tests/tours/crm_plus_tour_utils";

const LEAD_PHASES = ["First contact", "Qualification", "Proposal", "Negotiation", "Closing"];
const COLUMN = (phase) => `.o_kanban_group:has(.o_column_title:contains(${phase}))`;
const CARD = ".o_kanban_record:contains(Tour Pipeline Ltd)";

registry.category("web_tour.tours").add("crm_plus_tour_pipeline", {
    steps: () => [
        ...openCrmPlusApp(),
        {
            content: "The pipeline board opens, filtered on the Lead account type",
            trigger: ".o_searchview_facet:contains(Account Type):contains(Lead)",
        },
        {
            content: "One column per phase of Lead, in order",
            trigger: `${COLUMN("Closing")}`,
            run() {
                // The names, without the card count beside them ("Proposal(2)").
                const titles = [...document.querySelectorAll(".o_kanban_group .o_column_title")].map(
                    (el) => el.textContent.replace(/\(\d+\)\s*$/, "").trim()
                );
                if (JSON.stringify(titles) !== JSON.stringify(LEAD_PHASES)) {
                    throw new Error(`Pipeline columns: ${titles.join(", ")}`);
                }
            },
        },
        {
            content: "The partner's card is in First contact",
            trigger: `${COLUMN("First contact")} ${CARD}`,
        },
        {
            content: "Drag the card to the next phase",
            trigger: CARD,
            run: `drag_and_drop (${COLUMN("Qualification")})`,
        },
        {
            content: "The card is now in Qualification",
            trigger: `${COLUMN("Qualification")} ${CARD}`,
        },
        {
            trigger: `${COLUMN("First contact")}:not(:has(${CARD}))`,
        },
        {
            content: "…with Qualification's default score",
            trigger: `${COLUMN("Qualification")} ${CARD}:contains(Score 25)`,
        },
        {
            content: "Qualification's header sums its open pipeline, with the card's forecast",
            trigger: `${COLUMN("Qualification")} .o_kanban_counter .o_animated_number`,
            async run() {
                // The number counts up from 0: it settles within a second.
                const deadline = Date.now() + 5000;
                let text = this.anchor.textContent;
                while (!/[1-9]/.test(text) && Date.now() < deadline) {
                    await new Promise((resolve) => setTimeout(resolve, 100));
                    text = this.anchor.textContent;
                }
                if (!/[1-9]/.test(text)) {
                    throw new Error(`Qualification's column sum reads ${text.trim()}`);
                }
                // With its currency sign, as Odoo CRM's columns: "$ 47,500" (18.0 and 19.0).
                if (!/[^\d\s.,\u00a0\u202f]/.test(text)) {
                    throw new Error(`Qualification's column sum has no currency: ${text.trim()}`);
                }
            },
        },
        {
            content: "Each column's header shows its card count beside its name",
            trigger: `${COLUMN("Qualification")} .o_column_title .o_crm_plus_column_count`,
            run() {
                for (const column of document.querySelectorAll(".o_kanban_group")) {
                    const count = column.querySelector(".o_column_title .o_crm_plus_column_count");
                    const cards = column.querySelectorAll(".o_kanban_record").length;
                    if (!count || count.textContent.trim() !== `(${cards})`) {
                        throw new Error(
                            `Column ${column.querySelector(".o_column_title").textContent.trim()}: ` +
                                `count ${count?.textContent} for ${cards} cards`
                        );
                    }
                    const total = column.querySelector(".o_kanban_counter .o_animated_number");
                    if (!total || !/[^\d\s.,\u00a0\u202f]/.test(total.textContent)) {
                        throw new Error(`A column's total has no currency: ${total?.textContent}`);
                    }
                }
            },
        },
        {
            content: "Stale has one colour: the bar's band and the card's badge",
            trigger: `${COLUMN("Qualification")} .o_kanban_counter`,
            run() {
                // The stale band (when a column has one) and the Stale badge share bg-danger.
                for (const badge of document.querySelectorAll(".o_crm_plus_stale")) {
                    if (!badge.classList.contains("text-bg-danger")) {
                        throw new Error(`Stale badge: ${badge.className}`);
                    }
                }
            },
        },
        {
            content: "Switch the board to the pivot",
            trigger: ".o_switch_view.o_pivot",
            run: "click",
        },
        {
            content: "The pivot sums the open pipeline, without an error",
            trigger: ".o_pivot th:contains(Open Pipeline)",
        },
        {
            trigger: ".o_pivot:not(:has(.o_view_sample_data)) td.o_pivot_cell_value",
        },
        {
            content: "Switch to the graph",
            trigger: ".o_switch_view.o_graph",
            run: "click",
        },
        {
            content: "The graph draws the weighted pipeline",
            trigger: ".o_graph_renderer canvas",
        },
        {
            content: "Open Reporting",
            trigger: ".o_main_navbar button:contains(Reporting)",
            run: "click",
        },
        {
            content: "Open Win/Loss Analysis",
            trigger: ".dropdown-item[data-menu-xmlid='crm_plus.crm_plus_winloss_report_menu']",
            run: "click",
        },
        {
            content: "The win/loss report opens",
            trigger: ".o_breadcrumb:contains(Win/Loss Analysis)",
        },
        {
            content: "Switch to the pivot",
            trigger: ".o_switch_view.o_pivot",
            run: "click",
        },
        {
            content: "The pivot shows the lost close",
            trigger: ".o_pivot table td.o_pivot_cell_value",
        },
        {
            trigger: ".o_pivot:not(:has(.o_view_sample_data))",
        },
    ],
});
