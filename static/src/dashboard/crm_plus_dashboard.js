/** @odoo-module **/
// The manager's one-page view: every figure comes from crm.plus.dashboard.get_dashboard_data
// (one read-only call); each tile opens the report or the contacts its figure counts
// (get_dashboard_action).

import { Component, onWillStart, useState } from "@odoo/owl";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { formatMonetary } from "@web/views/fields/formatters";

export class CrmPlusDashboard extends Component {
    static template = "crm_plus.Dashboard";
    static props = ["*"];

    setup() {
        this.orm = useService("orm");
        this.action = useService("action");
        this.state = useState({ data: null });
        onWillStart(() => this.load());
    }

    async load() {
        this.state.data = await this.orm.call("crm.plus.dashboard", "get_dashboard_data", []);
    }

    get d() {
        return this.state.data;
    }

    money(value) {
        return formatMonetary(value, { currencyId: this.state.data.currency_id, digits: [16, 0] });
    }

    percent(value) {
        return `${(value || 0).toFixed(1)} %`;
    }

    /** The largest value of `rows` (for the bars' widths), at least 1. */
    max(rows, key) {
        return Math.max(1, ...rows.map((row) => row[key] || 0));
    }

    width(value, max) {
        return `width: ${Math.round((100 * (value || 0)) / max)}%`;
    }

    async open(tile, value = false) {
        const action = await this.orm.call("crm.plus.dashboard", "get_dashboard_action", [
            tile,
            value,
        ]);
        await this.action.doAction(action);
    }
}

registry.category("actions").add("crm_plus.dashboard", CrmPlusDashboard);
