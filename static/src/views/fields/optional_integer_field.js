/** @odoo-module **/
// An integer where 0 means "not set", e.g. a lead phase's "Stale after (days)": empty means
// never. Odoo reads an empty integer column as 0, so the standard widget would show "0" where
// the user left the field empty; this one shows nothing, or its placeholder, instead (and
// clearing it stores 0).

import { registry } from "@web/core/registry";
import { IntegerField, integerField } from "@web/views/fields/integer/integer_field";

export class OptionalIntegerField extends IntegerField {
    // 19.0's integer widget dropped the placeholder the form can give.
    static template = "crm_plus.OptionalIntegerField";
    static props = { ...IntegerField.props, placeholder: { type: String, optional: true } };

    get formattedValue() {
        return this.value ? super.formattedValue : "";
    }
}

registry.category("fields").add("crm_plus_optional_integer", {
    ...integerField,
    component: OptionalIntegerField,
    isEmpty: (record, fieldName) => !record.data[fieldName],
    extractProps: (fieldInfo, dynamicInfo) => ({
        ...integerField.extractProps(fieldInfo, dynamicInfo),
        placeholder: fieldInfo.attrs.placeholder,
    }),
});
