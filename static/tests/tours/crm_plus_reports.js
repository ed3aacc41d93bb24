/** @odoo-module **/
// The reports from the CRM+ menu, grouped by account type then phase, the win/loss graph's
// colours; the pipeline board's filter and column titles, before and after a reload.

import { registry } from "@web/core/registry";
import { openCrmPlusApp } from "@crm_plus/../tests/tours/crm_plus_tour_utils";
import { session } from "@web/session";

const PHASES = ["First contact", "Qualification", "Proposal", "Negotiation", "Closing"];
const TYPES = ["Lead", "Prospect"];
// 19.0 stops a tour whose page unloads unless the step says so; 18.0 refuses the key.
const UNLOADS = session.server_version_info[0] >= 19 ? { expectUnloadPage: true } : {};

function openApp() {
    return [
        ...openCrmPlusApp(),
        {
            content: "The pipeline board opens",
            trigger: ".o_kanban_view .o_kanban_group",
        },
    ];
}

function openReport(menu, title) {
    return [
        {
            content: "Open Reporting",
            trigger: ".o_main_navbar button:contains(Reporting)",
            run: "click",
        },
        {
            content: `Open ${title}`,
            trigger: `.dropdown-item[data-menu-xmlid='crm_plus.${menu}']`,
            run: "click",
        },
        {
            content: `${title} opens`,
            trigger: `.o_breadcrumb .active:contains(${title})`,
        },
    ];
}

/** The pivot's row headers as [level, title]: 0 is Total, 1 the first grouping… */
function pivotRows() {
    return [...document.querySelectorAll(".o_pivot table tbody tr th")].map((th) => [
        Math.round((parseInt(th.style.paddingLeft || th.style.paddingRight) - 5) / 30),
        th.textContent.trim(),
    ]);
}

/**
 * Rows grouped by account type, `types` (Lead, Prospect…) among them (the database may hold
 * others), each with some of `children` in their order;
 * `typed`: each child says its type ("Lead / First contact"), as phases of the same name do.
 */
function checkRowsByType(types, children, typed = false) {
    const rows = pivotRows();
    const tree = [];
    for (const [level, title] of rows) {
        if (level === 1) {
            tree.push({ title, children: [] });
        } else if (level === 2 && tree.length) {
            tree.at(-1).children.push(title);
        } else if (level !== 0) {
            throw new Error(`Unexpected pivot row ${level} ${title}: ${JSON.stringify(rows)}`);
        }
    }
    const titles = tree.map((node) => node.title);
    if (new Set(titles).size !== titles.length || types.some((type) => !titles.includes(type))) {
        throw new Error(`Pivot rows by account type: ${JSON.stringify(rows)}`);
    }
    for (const node of tree.filter((node) => types.includes(node.title))) {
        const expected = typed ? children.map((child) => `${node.title} / ${child}`) : children;
        const known = node.children.filter((child) => expected.includes(child));
        const sorted = [...known].sort((a, b) => expected.indexOf(a) - expected.indexOf(b));
        if (
            !node.children.length ||
            known.length !== node.children.length ||
            JSON.stringify(sorted) !== JSON.stringify(node.children)
        ) {
            throw new Error(`Rows under ${node.title}: ${JSON.stringify(node.children)}`);
        }
    }
}

function pivotGroupedByType(types, children, what, typed) {
    return [
        {
            content: "Switch to the pivot",
            trigger: ".o_switch_view.o_pivot",
            run: "click",
        },
        {
            content: `The pivot shows real data, grouped by account type, then ${what}`,
            trigger: `.o_pivot:not(:has(.o_view_sample_data)) table tbody th:contains(${types.at(-1)})`,
            run: () => checkRowsByType(types, children, typed),
        },
    ];
}

function chart() {
    const canvas = document.querySelector(".o_graph_renderer canvas");
    const instance = canvas && window.Chart && window.Chart.getChart(canvas);
    if (!instance) {
        throw new Error("No chart drawn");
    }
    return instance;
}

/** Hue (0–360) of a #rrggbb colour. */
function hue(color) {
    const match = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color);
    if (!match) {
        throw new Error(`Not a #rrggbb colour: ${color}`);
    }
    const [r, g, b] = match.slice(1).map((hex) => parseInt(hex, 16) / 255);
    const max = Math.max(r, g, b);
    const delta = max - Math.min(r, g, b);
    if (!delta) {
        return 0;
    }
    const h =
        max === r ? ((g - b) / delta) % 6 : max === g ? (b - r) / delta + 2 : (r - g) / delta + 4;
    return (h * 60 + 360) % 360;
}

function isRed(color) {
    const h = hue(color);
    return h >= 330 || h <= 20;
}

function checkOutcomeColors() {
    const instance = chart();
    const legend = Object.fromEntries(
        instance.legend.legendItems.map((item) => [item.text, item.fillStyle])
    );
    const series = Object.fromEntries(
        instance.data.datasets.map((dataset) => [dataset.label, dataset.backgroundColor])
    );
    for (const colors of [legend, series]) {
        if (!colors.Won || !colors.Lost) {
            throw new Error(`Won and Lost series expected: ${JSON.stringify(colors)}`);
        }
        if (isRed(colors.Won) || !isRed(colors.Lost)) {
            throw new Error(`Won must not be red, Lost must be: ${JSON.stringify(colors)}`);
        }
    }
}

registry.category("web_tour.tours").add("crm_plus_tour_reports", {
    steps: () => [
        ...openApp(),
        ...openReport("crm_plus_funnel_report_menu", "Funnel Analysis"),
        {
            content: "The funnel pivot shows real data, grouped by account type, then phase",
            trigger: ".o_pivot:not(:has(.o_view_sample_data)) table tbody th:contains(Prospect)",
            run: () => checkRowsByType(TYPES, PHASES, true),
        },
        {
            content: "Switch to the graph",
            trigger: ".o_switch_view.o_graph",
            run: "click",
        },
        {
            content: "The graph's phases say their type: no 'First contact (2)'",
            trigger: ".o_graph_view:not(:has(.o_view_sample_data)) .o_graph_renderer canvas",
            run() {
                const labels = chart().data.labels;
                if (!labels.includes("Lead / First contact") || !labels.includes("Prospect / First contact")) {
                    throw new Error(`Graph labels: ${JSON.stringify(labels)}`);
                }
                if (new Set(labels).size !== labels.length || labels.some((l) => /\(\d+\)$/.test(l))) {
                    throw new Error(`Graph labels: ${JSON.stringify(labels)}`);
                }
            },
        },
        ...openReport("crm_plus_winloss_report_menu", "Win/Loss Analysis"),
        {
            content: "The win/loss graph: Won is not red, Lost is red",
            trigger: ".o_graph_view:not(:has(.o_view_sample_data)) .o_graph_renderer canvas",
            run: checkOutcomeColors,
        },
        {
            content: "…and so in the line chart",
            trigger: ".o_graph_button[data-mode=line]",
            run: "click",
        },
        {
            trigger: ".o_graph_button[data-mode=line].active",
            run() {
                const series = chart().data.datasets;
                const won = series.find((dataset) => dataset.label === "Won");
                const lost = series.find((dataset) => dataset.label === "Lost");
                if (isRed(won.borderColor) || !isRed(lost.borderColor)) {
                    throw new Error(`Line colours: Won ${won.borderColor}, Lost ${lost.borderColor}`);
                }
            },
        },
        ...pivotGroupedByType(["Lead"], PHASES, "the phase closed in", true),
        ...openReport("crm_plus_forecast_report_menu", "Forecast"),
        ...pivotGroupedByType(TYPES, PHASES, "phase", true),
        ...openReport("crm_plus_calibration_report_menu", "Score Calibration"),
        {
            content: "The calibration pivot: grouped by account type, then score band",
            trigger: ".o_pivot:not(:has(.o_view_sample_data)) table tbody th:contains(Lead)",
            run: () =>
                checkRowsByType(
                    ["Lead"],
                    [...Array(10).keys()].map((i) => `${i * 10}–${i * 10 + 10}`)
                ),
        },
    ],
});

function columnTitles() {
    // The name, without the card count the header shows beside it ("Proposal(2)").
    return [...document.querySelectorAll(".o_kanban_group .o_column_title")].map((el) =>
        el.textContent.replace(/\(\d+\)\s*$/, "").trim()
    );
}

// Set on the page before the reload: the steps after it wait for a page without it.
const RELOADED = "body:not([data-crm-plus-before-reload])";

function leadBoard(when) {
    return [
        {
            content: `${when}: the board is filtered on the Lead account type`,
            trigger: `${RELOADED} .o_searchview_facet:contains(Account Type):contains(Lead)`,
        },
        {
            content: `${when}: one column per phase of Lead, in order, each title once`,
            trigger: ".o_kanban_group .o_column_title:contains(Closing)",
            run() {
                const titles = columnTitles();
                if (JSON.stringify(titles) !== JSON.stringify(PHASES)) {
                    throw new Error(`Pipeline columns: ${titles.join(", ")}`);
                }
            },
        },
        {
            content: `${when}: the Lead's card is in First contact, no Prospect on the board`,
            trigger:
                ".o_kanban_group:has(.o_column_title:contains(First contact)) .o_kanban_record:contains(Rep Board Lead)",
        },
        {
            trigger: ".o_kanban_renderer:not(:has(.o_kanban_record:contains(Rep Board Prospect)))",
        },
    ];
}

registry.category("web_tour.tours").add("crm_plus_tour_pipeline_reload", {
    steps: () => [
        ...openApp(),
        ...leadBoard("Opened from the menu"),
        {
            content: "The board's URL is its own, the one a reload opens",
            trigger: ".o_kanban_view",
            run() {
                if (!window.location.pathname.endsWith("/crm-plus-pipeline")) {
                    throw new Error(`Pipeline URL: ${window.location.pathname}`);
                }
            },
        },
        {
            content: "Reload the page",
            trigger: ".o_kanban_view",
            run() {
                document.body.dataset.crmPlusBeforeReload = "1";
                window.location.reload();
            },
            ...UNLOADS,
        },
        ...leadBoard("After a reload"),
        {
            content: "Remove the Lead filter",
            trigger: ".o_searchview_facet:contains(Account Type) .o_facet_remove",
            run: "click",
        },
        {
            content: "Lead and Prospect columns: each title says its type",
            trigger: ".o_kanban_group .o_column_title:contains(Prospect / First contact)",
            run() {
                const titles = columnTitles();
                if (
                    new Set(titles).size !== titles.length ||
                    !titles.includes("Lead / First contact") ||
                    titles.some((title) => !/^(Lead|Prospect) \/ /.test(title))
                ) {
                    throw new Error(`Pipeline columns: ${titles.join(", ")}`);
                }
            },
        },
    ],
});
