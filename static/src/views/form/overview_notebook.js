/** @odoo-module **/
// A contact's Overview page comes into view when its funnel does: an existing contact that gets
// an account type with lead phases shows Overview, as a new one does. Odoo's notebook keeps the
// page the user was on (Contacts & Addresses, the only one while there was no funnel), and the
// Overview's autofocus only counts when the form opens.

import { onWillUpdateProps } from "@odoo/owl";
import { Notebook } from "@web/core/notebook/notebook";
import { patch } from "@web/core/utils/patch";

const OVERVIEW_PAGE = "crm_plus_overview";

patch(Notebook.prototype, {
    setup() {
        super.setup(...arguments);
        const overview = () => this.pages.find(([, page]) => page.name === OVERVIEW_PAGE);
        let wasShown = overview()?.[1].isVisible;
        // After Odoo's own handler (registered first): this.pages holds the new props' pages.
        onWillUpdateProps(() => {
            const page = overview();
            const shown = page?.[1].isVisible;
            if (shown && wasShown === false) {
                this.state.currentPage = page[0];
            }
            wasShown = shown;
        });
    },
});
