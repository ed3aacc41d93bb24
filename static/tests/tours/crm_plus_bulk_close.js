/** @odoo-module **/
// Contacts list: select two contacts in the funnel, Actions → Close Deals…: the dialog says how
// many it will close, the notification what it did and to how many.

import { registry } from "@web/core/registry";
import { contactsListSearched } from "@crm_plus/../tests/tours/crm_plus_tour_utils";

const ROW = (name) => `.o_data_row:contains(${name})`;

registry.category("web_tour.tours").add("crm_plus_tour_bulk_close", {
    steps: () => [
        ...contactsListSearched("Tour Bulk", 4),
        ...["Tour Bulk A", "Tour Bulk B"].map((name) => ({
            content: `Select ${name}`,
            trigger: `.o_list_view ${ROW(name)} .o_list_record_selector input`,
            run: "click",
        })),
        {
            content: "Two contacts are selected",
            trigger: [".o_list_selection_box", ".o_selection_box"]
                .map((box) => `${box}:has(b:contains(2)):contains(selected)`)
                .join(", "),
        },
        {
            content: "Open the Actions menu",
            trigger: ".o_cp_action_menus button:contains(Actions)",
            run: "click",
        },
        {
            content: "Close Deals…",
            trigger: ".o-dropdown-item:contains(Close Deals), .dropdown-item:contains(Close Deals)",
            run: "click",
        },
        {
            content: "The dialog says how many it will close",
            trigger: ".modal .o_field_widget[name=count_label]:contains(Closes the 2 selected contacts)",
        },
        {
            content: "Reason: Too expensive",
            trigger: ".modal .o_field_widget[name=close_reason_id] input",
            run: "edit Too expensive",
        },
        {
            trigger: ".o-autocomplete--dropdown-item > a:contains(Too expensive)",
            run: "click",
        },
        {
            content: "Confirm Close",
            trigger: ".modal button[name=action_confirm]",
            run: "click",
        },
        {
            content: "It says what it did, and to how many contacts",
            trigger: ".o_notification:contains(2 contacts closed as Lost (Too expensive))",
        },
    ],
});
