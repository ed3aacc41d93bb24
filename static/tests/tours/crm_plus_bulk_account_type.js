/** @odoo-module **/
// Contacts list: select three contacts, Actions → Set Account Type → Lead.

import { registry } from "@web/core/registry";
import { contactsListSearched } from "@crm_plus/../tests/tours/crm_plus_tour_utils";

const ROW = (name) => `.o_data_row:contains(${name})`;

registry.category("web_tour.tours").add("crm_plus_tour_bulk_account_type", {
    steps: () => [
        ...contactsListSearched("Tour Bulk", 4),
        {
            trigger: `.o_list_view ${ROW("Tour Bulk Untouched")}`,
        },
        ...["Tour Bulk A", "Tour Bulk B", "Tour Bulk C"].map((name) => ({
            content: `Select ${name}`,
            trigger: `${ROW(name)} .o_list_record_selector input`,
            run: "click",
        })),
        {
            content: "Three contacts are selected",
            // The selection box is o_list_selection_box in 18.0, o_selection_box in 19.0.
            trigger: [".o_list_selection_box", ".o_selection_box"]
                .map((box) => `${box}:has(b:contains(3)):contains(selected)`)
                .join(", "),
        },
        {
            content: "Open the Actions menu",
            trigger: ".o_cp_action_menus button:contains(Actions)",
            run: "click",
        },
        {
            content: "Set Account Type",
            trigger: ".o-dropdown-item:contains(Set Account Type), .dropdown-item:contains(Set Account Type)",
            run: "click",
        },
        {
            content: "The wizard counts the three contacts",
            trigger: ".modal .o_field_widget[name=partner_count]:contains(3)",
        },
        {
            content: "Type Lead",
            trigger: ".modal .o_field_widget[name=account_type_id] input",
            run: "edit Lead",
        },
        {
            trigger: ".o-autocomplete--dropdown-item > a:contains(Lead)",
            run: "click",
        },
        {
            content: "Apply",
            trigger: ".modal button[name=action_apply]",
            run: "click",
        },
        {
            content: "It says what it did, and to how many contacts",
            trigger: ".o_notification:contains(Lead set on the 3 selected contacts)",
        },
        ...["Tour Bulk A", "Tour Bulk B", "Tour Bulk C"].map((name) => ({
            content: `${name} is a Lead in the list`,
            trigger: `.o_list_view ${ROW(name)} td[name=account_type_id]:contains(Lead)`,
        })),
        {
            content: "The fourth contact is untouched",
            trigger: `${ROW("Tour Bulk Untouched")} td[name=account_type_id]:empty`,
        },
    ],
});
