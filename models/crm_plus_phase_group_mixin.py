"""Reports and lists grouped by phase: a phase is labelled "Type / Phase" where names clash."""

from collections import defaultdict

from odoo import models

from ..compat import label_grouped_reads


@label_grouped_reads
class CrmPlusPhaseGroupMixin(models.AbstractModel):
    """Phases of several account types share names (Lead and Prospect both start with "First
    contact"). Grouped by phase, the pivot and the graph number such names ("First contact
    (2)", across all the groups they read) and the board shows two columns of the same title.
    So a group of phases is labelled with its type, "Lead / First contact":

    - ``"shared_name"`` (the reports): whenever another type has a phase of that name, as the
      pivot and graph number names across every group they read;
    - ``"mixed"`` (contacts: the board, its pivot and graph): when the groups read hold phases
      of several types; filtered on one type, the columns keep their phases' names."""

    _name = "crm.plus.phase.group.mixin"
    _description = "Phase groups labelled with their account type"

    # {phase field: "shared_name" or "mixed"}
    _phase_group_fields = {}

    def _label_groups(self, groups, groupby):
        for phase_field, mode in self._phase_group_fields.items():
            if phase_field not in groupby:
                continue
            phase_ids = {group[phase_field][0] for group in groups if group.get(phase_field)}
            # sudo, all: as the groups' own labels (display_name of the superuser).
            Phase = self.env["crm.plus.lead.phase"].sudo().with_context(active_test=False)
            phases = Phase.browse(phase_ids)
            if mode == "mixed":
                labelled = phases if len(phases.account_type_id) > 1 else Phase
            else:
                types_by_name = defaultdict(set)
                for phase in Phase.search([("name", "in", phases.mapped("name"))]):
                    types_by_name[phase.name].add(phase.account_type_id.id)
                shared = {name for name, type_ids in types_by_name.items() if len(type_ids) > 1}
                labelled = phases.filtered(lambda phase, shared=shared: phase.name in shared)
            if not labelled:
                continue
            labels = {
                phase.id: f"{phase.account_type_id.display_name} / {phase.display_name}"
                for phase in labelled
            }
            for group in groups:
                value = group.get(phase_field)
                if value and value[0] in labels:
                    group[phase_field] = (value[0], labels[value[0]])
        return groups


class ResPartner(models.Model):
    _name = "res.partner"
    _inherit = ["res.partner", "crm.plus.phase.group.mixin"]

    _phase_group_fields = {"lead_phase_id": "mixed"}
