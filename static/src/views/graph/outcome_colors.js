/** @odoo-module **/
// Odoo's graph view colours its series by position (blue, red, teal…), and which outcome comes
// first depends on the data: the first month with only a lost close made Lost blue and Won red.
// No attribute of the graph view sets a series' colour, so crm_plus's graphs whose series are a
// won/lost outcome get fixed colours: Won green, Lost red, anything else (Open, none) blue.

import { lightenColor } from "@web/core/colors/colors";
import { patch } from "@web/core/utils/patch";
import { GraphRenderer } from "@web/views/graph/graph_renderer";

// Fields holding an outcome, on crm_plus's reports and res.partner.
const OUTCOME_FIELDS = ["close_outcome", "funnel_state"];
// From the graph's own palette (@web/core/colors/colors): teal #2, red #1, blue #1.
export const OUTCOME_COLORS = { won: "#00A78D", lost: "#EA6175" };
const OTHER_COLOR = "#4EA7F2";

function isCrmPlusModel(resModel) {
    return resModel === "res.partner" || resModel.startsWith("crm.plus.");
}

/** The outcome ("won", "lost", …) a series stands for, undefined if it is not an outcome. */
function seriesOutcome(dataset) {
    const [identifier] = dataset.identifiers || [];
    if (!identifier) {
        return undefined;
    }
    // [{groupby spec: value}, …]: the first is the x axis, the others name the series.
    for (const group of JSON.parse(identifier).slice(1)) {
        for (const [spec, value] of Object.entries(group)) {
            if (OUTCOME_FIELDS.includes(spec.split(":")[0])) {
                return value || "none";
            }
        }
    }
    return undefined;
}

function outcomeColor(outcome) {
    return OUTCOME_COLORS[outcome] || OTHER_COLOR;
}

/** [dataset, its colour] for each series of a crm_plus graph that is an outcome. */
function* outcomeSeries(renderer, data) {
    if (!isCrmPlusModel(renderer.model.metaData.resModel)) {
        return;
    }
    for (const dataset of data.datasets) {
        const outcome = seriesOutcome(dataset);
        if (outcome) {
            yield [dataset, outcomeColor(outcome)];
        }
    }
}

patch(GraphRenderer.prototype, {
    getBarChartData() {
        const data = super.getBarChartData(...arguments);
        for (const [dataset, color] of outcomeSeries(this, data)) {
            dataset.backgroundColor = color;
        }
        return data;
    },

    getLineChartData() {
        const data = super.getLineChartData(...arguments);
        for (const [dataset, color] of outcomeSeries(this, data)) {
            dataset.borderColor = color;
            dataset.pointBackgroundColor = color;
            dataset.hoverBackgroundColor = color;
            dataset.backgroundColor = lightenColor(color, 0.5);
        }
        return data;
    },
});
