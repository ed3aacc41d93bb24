/** @odoo-module **/
// The pipeline board (res_partner_view_kanban_pipeline, js_class="crm_plus_pipeline_kanban"):
// each column's header shows its card count next to its name, as a kanban without a progress
// bar does, and its total (the progress bar's sum_field) with the currency sign, as Odoo CRM
// shows the expected revenue. 19.0 reads the currencies of each group's sum; 18.0 does not
// (its header number has no sign), so the board's funnel currency is taken from its cards.

import { registry } from "@web/core/registry";
import { getCurrency } from "@web/core/currency";
import { user } from "@web/core/user";
import { kanbanView } from "@web/views/kanban/kanban_view";
import { KanbanRenderer } from "@web/views/kanban/kanban_renderer";
import { KanbanHeader } from "@web/views/kanban/kanban_header";
import { AnimatedNumber } from "@web/views/view_components/animated_number";

// 19.0's AnimatedNumber takes currency ids (`currencies`), 18.0's a currency (`currency`).
const TAKES_CURRENCY_IDS = "currencies" in AnimatedNumber.props;

function currencyIdOf(record, fieldName) {
    const value = record.data[fieldName];
    return Array.isArray(value) ? value[0] : value?.id || false;
}

export class PipelineKanbanHeader extends KanbanHeader {
    static template = "crm_plus.PipelineKanbanHeader";

    /** The funnel currency of the column's cards, else of the board's, else the company's. */
    get boardCurrencyId() {
        const { sumField } = this.props.progressBarState.progressAttributes;
        const currencyField = sumField?.currency_field;
        if (currencyField) {
            const groups = [this.group, ...this.props.list.groups];
            for (const group of groups) {
                for (const record of group.list.records || []) {
                    const currencyId = currencyIdOf(record, currencyField);
                    if (currencyId) {
                        return currencyId;
                    }
                }
            }
        }
        return user.activeCompany?.currency_id || false;
    }

    get groupAggregate() {
        const aggregate = super.groupAggregate;
        const { sumField } = this.props.progressBarState.progressAttributes;
        if (!sumField || sumField.type !== "monetary") {
            return aggregate;
        }
        if (TAKES_CURRENCY_IDS) {
            if (aggregate.currencies?.length) {
                return aggregate;
            }
            const currencyId = this.boardCurrencyId;
            return currencyId ? { ...aggregate, currencies: [currencyId] } : aggregate;
        }
        if (aggregate.currency) {
            return aggregate;
        }
        const currencyId = this.boardCurrencyId;
        const currency = currencyId && getCurrency(currencyId);
        return currency ? { ...aggregate, currency } : aggregate;
    }
}

export class PipelineKanbanRenderer extends KanbanRenderer {
    static components = {
        ...KanbanRenderer.components,
        KanbanHeader: PipelineKanbanHeader,
    };
}

registry.category("views").add("crm_plus_pipeline_kanban", {
    ...kanbanView,
    Renderer: PipelineKanbanRenderer,
});
