/** @odoo-module **/
// Steps shared by the crm_plus acceptance tours (tests/test_tours.py runs them).

export const OVERVIEW_TAB = ".o_notebook_headers a.nav-link[name=crm_plus_overview]";
export const NO_OVERVIEW_TAB = ".o_notebook_headers:not(:has(a.nav-link[name=crm_plus_overview]))";
export const FUNNEL_LINES = ".o_field_widget[name=funnel_line_ids]";
// A funnel closed in another account type than the contact's (a won close that switched it).
export const CLOSED_LINES = ".o_field_widget[name=funnel_closed_line_ids]";
export const CURRENT_LINE = `${FUNNEL_LINES} .o_data_row:has(td[name=state]:contains(Current))`;

export function openOverview() {
    return [
        {
            content: "The contact has an Overview page: open it",
            trigger: OVERVIEW_TAB,
            run: "click",
        },
        {
            content: "The Overview page shows the funnel's phases",
            trigger: `${OVERVIEW_TAB}.active`,
        },
        {
            trigger: ".o_notebook .tab-pane.active .o_field_widget[name=lead_phase_id]",
        },
    ];
}

/** Type `text` in a many2one field and pick the suggestion of that name. */
export function selectMany2one(fieldName, text, scope = "") {
    return [
        {
            content: `Type "${text}" in ${fieldName}`,
            trigger: `${scope} .o_field_widget[name=${fieldName}] input`,
            run: `edit ${text}`,
        },
        {
            content: `Choose "${text}"`,
            trigger: `.o-autocomplete--dropdown-item > a:contains(${text})`,
            run: "click",
        },
        {
            trigger: `${scope} .o_field_widget[name=${fieldName}] input:value(${text})`,
        },
    ];
}

/** New, from the view's button, then the contact `name` of the account type `accountType`
 * (Contacts opens on its kanban view in 18.0, on its list view in 19.0; the Pipeline is a
 * kanban). */
export function newContact(name, accountType) {
    return [
        {
            content: "New",
            trigger: ".o_control_panel .o-kanban-button-new, .o_control_panel .o_list_button_add",
            run: "click",
        },
        {
            content: `Name the contact ${name}`,
            trigger: ".o_form_view .o_field_widget[name=name] input",
            run: `edit ${name}`,
        },
        ...selectMany2one("account_type_id", accountType),
    ];
}

export function currentPhaseIs(name) {
    return {
        content: `The status bar shows ${name} as the current phase`,
        trigger: `.o_field_widget[name=lead_phase_id] button[aria-checked=true]:contains(${name})`,
    };
}

export function fieldShows(fieldName, text) {
    return {
        content: `${fieldName} shows ${text}`,
        trigger: `.o_form_view .o_field_widget[name=${fieldName}]:contains(${text})`,
    };
}

export function saveForm() {
    return [
        {
            content: "Save the contact",
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "The contact is saved",
            trigger: ".o_form_view .o_form_saved",
        },
    ];
}

export function completePhase(nextPhase) {
    return [
        {
            content: `Complete the phase: on to ${nextPhase}`,
            trigger: "button[name=action_advance_phase]",
            run: "click",
        },
        currentPhaseIs(nextPhase),
    ];
}

export function openCloseDialog() {
    return {
        content: "Close…",
        trigger: "button[name=action_open_close_wizard]",
        run: "click",
    };
}

/** Close… in the closing phase: the dialog allows won reasons; `reason` chosen. */
export function closeWithWonReason(reason) {
    return [
        {
            content: "In the closing phase, Close… is the primary action",
            trigger: "button[name=action_open_close_wizard].btn-primary",
        },
        openCloseDialog(),
        {
            content: "The close dialog opens, won reasons allowed",
            trigger: ".modal:not(:has(.alert-info)) .o_field_widget[name=close_reason_id]",
        },
        {
            content: "It is titled for what it does, and so is its button",
            trigger:
                ".modal:has(.modal-title:contains(Close the Deal)) button[name=action_confirm]:contains(Confirm Close)",
        },
        ...selectMany2one("close_reason_id", reason, ".modal"),
    ];
}

/** Confirm the close dialog: the contact shows the `outcome` ribbon. */
export function confirmClose(outcome) {
    return [
        {
            content: "Confirm the close",
            trigger: ".modal button[name=action_confirm]",
            run: "click",
        },
        {
            content: `The contact shows the ${outcome} ribbon`,
            trigger: `.o_form_view:not(:has(.modal)) .ribbon:contains(${outcome})`,
        },
    ];
}

/** Reopen, confirmed in the dialog it asks first. */
export function reopen() {
    return [
        {
            content: "Reopen",
            trigger: "button[name=action_reopen]",
            run: "click",
        },
        {
            content: "Reopen asks first: confirm",
            trigger: ".modal:contains(Reopen this deal?) .modal-footer .btn-primary",
            run: "click",
        },
    ];
}

export function contactIsOpen(name) {
    return {
        content: `The contact ${name} is open`,
        trigger: `.o_form_view .o_breadcrumb .active:contains(${name})`,
    };
}

/** The apps menu, then CRM+ (it opens on the Pipeline). web_tour's stepUtils moved between
 * 18.0 and 19.0: the steps themselves, as both have them. */
export function openCrmPlusApp() {
    return [
        {
            content: "Open the apps menu",
            trigger: ".o_navbar_apps_menu button:enabled",
            run: "click",
        },
        {
            content: "Open the CRM+ app",
            trigger: ".o_app[data-menu-xmlid='crm_plus.crm_plus_menu_root']",
            run: "click",
        },
    ];
}

/** From a contact opened on the board, back to the Pipeline's board. */
export function backToPipeline() {
    return [
        {
            content: "Back to the Pipeline",
            trigger: ".o_breadcrumb a:contains(Pipeline)",
            run: "click",
        },
        {
            trigger: ".o_kanban_renderer .o_kanban_group",
        },
    ];
}

/** Score, forecast and recurring value typed into the current phase line. */
export function fillCurrentLine({ score, forecast, recurring }) {
    return [
        {
            content: "Edit the current phase line",
            trigger: `${CURRENT_LINE} td[name=score]`,
            run: "click",
        },
        {
            content: `Score ${score}`,
            trigger: ".o_selected_row .o_field_widget[name=score] input",
            run: `edit ${score}`,
        },
        {
            content: `Forecast ${forecast}`,
            trigger: ".o_selected_row .o_field_widget[name=forecast_value] input",
            run: `edit ${forecast}`,
        },
        {
            content: `Recurring ${recurring}`,
            trigger: ".o_selected_row .o_field_widget[name=recurring_value] input",
            run: `edit ${recurring}`,
        },
    ];
}

/** The contacts switched to the list view and searched for ``text``: ``count`` contacts match
 * (the bulk actions' tours). */
export function contactsListSearched(text, count) {
    return [
        {
            content: "Switch the contacts to the list view",
            trigger: ".o_switch_view.o_list",
            run: "click",
        },
        {
            trigger: ".o_list_view .o_data_row",
        },
        {
            content: `Search ${text}`,
            trigger: ".o_searchview_input",
            run: `edit ${text}`,
        },
        {
            trigger: ".o_searchview_autocomplete",
        },
        {
            trigger: ".o_searchview_input",
            run: "press Enter",
        },
        {
            trigger: `.o_searchview_facet:contains(${text})`,
        },
        {
            content: `${count} contacts match`,
            trigger: `.o_pager_counter .o_pager_limit:contains(/^${count}$/)`,
        },
    ];
}
