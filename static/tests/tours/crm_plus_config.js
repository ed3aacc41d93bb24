/** @odoo-module **/
// CRM+ → Configuration as a new manager goes through it: an account type with its lead phases
// (the last one closing), the Lead Phases list grouped by type (no sums in the group rows),
// then a won and a lost close reason through the close reason form. And the Close… dialog,
// whose reasons say whether they win or lose the deal.

import { registry } from "@web/core/registry";
import {
    contactIsOpen,
    openCloseDialog,
    openCrmPlusApp,
    openOverview,
} from "@crm_plus/../tests/tours/crm_plus_tour_utils";

const TYPE = "Tour Partners";
const PHASES = [
    { name: "Tour Intro", code: "TP-INT", score: "20", stale: "7" },
    { name: "Tour Offer", code: "TP-OFF", score: "40" },
    { name: "Tour Signing", code: "TP-SIGN", score: "80", closing: true },
];
const REASONS = [
    { name: "Tour Pilot extended", code: "W-TPIL", outcome: "won", label: "Won" },
    { name: "Tour Bad timing", code: "L-TTIM", outcome: "lost", label: "Lost" },
];
const PHASE_LIST = ".o_field_widget[name=phase_ids]";

function openConfigMenu(menu, title) {
    return [
        {
            content: "Open the Configuration menu",
            trigger: ".o_menu_sections [data-menu-xmlid='crm_plus.crm_plus_menu_config']",
            run: "click",
        },
        {
            content: `Configuration → ${title}`,
            trigger: `.dropdown-menu [data-menu-xmlid='crm_plus.${menu}']`,
            run: "click",
        },
        {
            content: `The ${title} list opens`,
            trigger: `.o_breadcrumb .active:contains(${title})`,
        },
        {
            trigger: ".o_list_view .o_list_button_add",
        },
    ];
}

function editField(fieldName, value, scope = ".o_form_view") {
    return {
        content: `${fieldName}: ${value}`,
        trigger: `${scope} .o_field_widget[name=${fieldName}] input`,
        run: `edit ${value}`,
    };
}

/** Pick an option of a selection field: 18.0 shows a <select>, 19.0 a dropdown menu whose
 * toggler is an input. */
function chooseSelection(fieldName, label, scope) {
    const field = `${scope} .o_field_widget[name=${fieldName}]`;
    return [
        {
            content: `${fieldName}: ${label}`,
            trigger: `${field} select, ${field} .o_select_menu_toggler`,
            async run(helpers) {
                if (this.anchor.tagName === "SELECT") {
                    await helpers.selectByLabel(label);
                } else {
                    await helpers.click();
                }
            },
        },
        {
            trigger: `${field} select, .o_select_menu_item:contains(${label})`,
            async run(helpers) {
                if (this.anchor.tagName !== "SELECT") {
                    await helpers.click();
                }
            },
        },
        {
            content: `${fieldName} shows ${label}`,
            trigger: `${field} select:has(option:checked:contains(${label})), ${field} input.o_select_menu_toggler:value(${label})`,
        },
    ];
}

function addPhase(phase, index) {
    // The new row, not the one edited before it (still selected until the click is handled).
    const row = `${PHASE_LIST} .o_data_row:nth-child(${index + 1}).o_selected_row`;
    const steps = [
        {
            content: `Add the phase ${phase.name}`,
            trigger: `${PHASE_LIST} .o_field_x2many_list_row_add a`,
            run: "click",
        },
        {
            content: "A new row is open for editing",
            trigger: row,
        },
        editField("code", phase.code, row),
        editField("name", phase.name, row),
        editField("default_score", phase.score, row),
    ];
    if (phase.stale) {
        steps.push(editField("stale_after_days", phase.stale, row));
    }
    if (phase.closing) {
        steps.push(...chooseSelection("phase_type", "Closing", row));
    }
    return steps;
}

function saveForm(what) {
    return [
        {
            content: `Save the ${what}`,
            trigger: ".o_form_view .o_form_button_save",
            run: "click",
        },
        {
            content: `The ${what} is saved`,
            trigger: ".o_form_view .o_form_saved",
        },
    ];
}

function createReason(reason) {
    return [
        {
            content: "New close reason",
            trigger: ".o_list_view .o_list_button_add",
            run: "click",
        },
        {
            content: "A form opens, with the outcome to choose",
            trigger: ".o_form_view .o_field_widget[name=outcome] input[type=radio]",
        },
        editField("name", reason.name),
        editField("code", reason.code),
        {
            content: `Outcome: ${reason.label}`,
            trigger: `.o_form_view .o_field_widget[name=outcome] input[data-value=${reason.outcome}]`,
            run: "click",
        },
        {
            trigger: `.o_form_view .o_field_widget[name=outcome] input[data-value=${reason.outcome}]:checked`,
        },
        ...saveForm("close reason"),
        {
            content: "Back to the Close Reasons",
            trigger: ".o_breadcrumb a:contains(Close Reasons)",
            run: "click",
        },
        {
            content: `The list shows ${reason.name} as ${reason.label}`,
            trigger: `.o_list_view .o_data_row:has(td[name=name]:contains(${reason.name})) td[name=outcome]:contains(${reason.label})`,
        },
    ];
}

registry.category("web_tour.tours").add("crm_plus_tour_config", {
    steps: () => [
        ...openCrmPlusApp(),
        {
            trigger: ".o_menu_sections [data-menu-xmlid='crm_plus.crm_plus_menu_config']",
        },
        // An account type and its phases.
        ...openConfigMenu("crm_plus_account_type_menu", "Account Types"),
        {
            content: "New account type",
            trigger: ".o_list_view .o_list_button_add",
            run: "click",
        },
        editField("name", TYPE),
        editField("code", "TPART"),
        ...PHASES.flatMap(addPhase),
        ...saveForm("account type"),
        {
            content: "The three phases are listed in order",
            trigger: `${PHASE_LIST} .o_data_row:eq(2):contains(Tour Signing)`,
            run() {
                const names = [...document.querySelectorAll(`${PHASE_LIST} .o_data_row td[name=name]`)];
                const got = names.map((td) => td.textContent.trim());
                const expected = PHASES.map((phase) => phase.name);
                if (JSON.stringify(got) !== JSON.stringify(expected)) {
                    throw new Error(`Phases: ${got.join(", ")}`);
                }
            },
        },
        {
            content: "A phase without 'stale after' shows it empty (never), not 0",
            trigger: `${PHASE_LIST} .o_data_row:has(td[name=name]:contains(Tour Offer)) td[name=stale_after_days]`,
            run() {
                if (this.anchor.textContent.trim() !== "") {
                    throw new Error(`Stale after shows "${this.anchor.textContent.trim()}"`);
                }
            },
        },
        {
            trigger: `${PHASE_LIST} .o_data_row:has(td[name=name]:contains(Tour Intro)) td[name=stale_after_days]:contains(7)`,
        },
        // The phases, grouped by account type.
        ...openConfigMenu("crm_plus_lead_phase_menu", "Lead Phases"),
        {
            content: "The phases are grouped by account type, ours among them",
            trigger: `.o_list_view .o_group_header:has(.o_group_name:contains(${TYPE}))`,
        },
        {
            content: "The group rows show no sums (a sum of scores or days means nothing)",
            trigger: `.o_list_view thead th[data-name=default_score]`,
            run() {
                for (const row of document.querySelectorAll(".o_list_view .o_group_header")) {
                    const cells = [...row.querySelectorAll("td")].map((td) => td.textContent.trim());
                    if (cells.some(Boolean)) {
                        throw new Error(`A group row shows ${cells.filter(Boolean).join(", ")}`);
                    }
                }
            },
        },
        {
            content: `Unfold ${TYPE}`,
            trigger: `.o_list_view .o_group_header:has(.o_group_name:contains(${TYPE}))`,
            run: "click",
        },
        {
            content: "Its phases are listed, the closing one last",
            trigger: ".o_list_view .o_data_row:has(td[name=name]:contains(Tour Signing)):has(td[name=phase_type]:contains(Closing))",
        },
        // Close reasons: one won, one lost.
        ...openConfigMenu("crm_plus_close_reason_menu", "Close Reasons"),
        ...REASONS.flatMap(createReason),
    ],
});

registry.category("web_tour.tours").add("crm_plus_tour_close_reason_outcome", {
    steps: () => [
        contactIsOpen("Tour Outcome Ltd"),
        ...openOverview(),
        openCloseDialog(),
        {
            content: "Search a reason by its code",
            trigger: ".modal .o_field_widget[name=close_reason_id] input",
            run: "edit W-SIGN",
        },
        {
            content: "The reason found by its code says it wins the deal",
            trigger: ".o-autocomplete--dropdown-item > a:contains('Contract signed (Won)')",
        },
        {
            content: "Search the reasons by name",
            trigger: ".modal .o_field_widget[name=close_reason_id] input",
            run: "edit o",
        },
        {
            content: "Won and lost reasons say which they are, the won ones first",
            trigger: ".o-autocomplete--dropdown-menu:has(a:contains('First order placed (Won)')):has(a:contains('No response (Lost)'))",
            run() {
                const outcomes = [
                    ...document.querySelectorAll(".o-autocomplete--dropdown-item > a"),
                ]
                    .map((a) => a.textContent.match(/\((Won|Lost)\)/)?.[1])
                    .filter(Boolean);
                const firstLost = outcomes.indexOf("Lost");
                if (firstLost < 0 || outcomes.slice(firstLost).includes("Won")) {
                    throw new Error(`Won and lost reasons are mixed: ${outcomes.join(", ")}`);
                }
            },
        },
        {
            content: "Choose Too expensive (Lost)",
            trigger: ".modal .o_field_widget[name=close_reason_id] input",
            run: "edit Too expensive",
        },
        {
            trigger: ".o-autocomplete--dropdown-item > a:contains('Too expensive (Lost)')",
            run: "click",
        },
        {
            content: "The chosen reason still says it loses the deal",
            trigger: ".modal .o_field_widget[name=close_reason_id] input:value('Too expensive (Lost)')",
        },
        {
            content: "Confirm the close",
            trigger: ".modal button[name=action_confirm]",
            run: "click",
        },
        {
            content: "The contact shows the Lost ribbon",
            trigger: ".o_form_view:not(:has(.modal)) .ribbon:contains(Lost)",
        },
    ],
});
