/** @odoo-module **/
// Contacts → ⚙ → Import records: the pipeline example file, Test (nothing to report), Import.

import { registry } from "@web/core/registry";
import { inputFiles } from "@web/../tests/utils";

// The importer's template, served by the addon: the same bytes as examples/pipeline_import.csv
// (tests/test_import.py checks it), which is not served over HTTP.
const EXAMPLE_URL = "/crm_plus/static/xls/crm_plus_pipeline_import.csv";
const MESSAGES = ".o_import_action .o_import_data_content";

registry.category("web_tour.tours").add("crm_plus_tour_import_pipeline", {
    steps: () => [
        {
            content: "Open the gear menu of Contacts",
            trigger: ".o_control_panel .o_cp_action_menus button:has(.fa-cog)",
            run: "click",
        },
        {
            content: "Import records",
            trigger: ".o_import_menu",
            run: "click",
        },
        {
            content: "The importer offers the pipeline template",
            trigger: ".o_import_action a:contains(Import Template for a Pipeline (CRM+))",
        },
        {
            content: "Upload the example pipeline file",
            trigger: ".o_control_panel button.o_import_file",
            async run() {
                const response = await fetch(EXAMPLE_URL);
                const file = new File([await response.text()], "pipeline_import.csv", {
                    type: "text/csv",
                });
                await inputFiles(".o_control_panel .o_input_file", [file]);
            },
        },
        {
            content: "The preview maps the funnel columns",
            trigger: ".o_import_action .o_import_data_content:contains(Funnel State):contains(Close Reason)",
        },
        {
            content: "Test the file",
            trigger: ".o_control_panel button:contains(Test)",
            run: "click",
        },
        {
            content: "The importer finds everything valid",
            trigger: `${MESSAGES} .alert-info:contains(Everything seems valid.)`,
        },
        {
            content: "No error and no warning: no banner, nothing under a column",
            trigger: `${MESSAGES}:not(:has(.alert-danger, .alert-warning, .o_import_report))`,
        },
        {
            content: "Import",
            trigger: ".o_control_panel button:contains(Import)",
            run: "click",
        },
        {
            content: "The nine contacts are imported",
            trigger: ".o_notification:contains(9 records successfully imported)",
        },
    ],
});
