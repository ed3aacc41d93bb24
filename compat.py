"""What differs between Odoo 18.0 and 19.0 for crm_plus, in one place.

The rest of the addon imports these names instead of testing the version. Each entry says what
changed in 19.0; when 18.0 support is dropped, the 19.0 branch of each entry is what stays.

- ``Domain``: ``odoo.osv.expression`` (AND / OR / FALSE_DOMAIN) gives way to
  ``odoo.fields.Domain``; :func:`domain_and`, :func:`domain_or` and :data:`FALSE_DOMAIN` return
  plain lists on both.
- ``_sql_constraints`` is ignored by 19.0, which reads ``models.Constraint`` class attributes:
  :func:`sql_constraints` (a class decorator) turns the 18.0 list into those attributes.
- ``_read_group_groupby`` gained a leading ``alias`` argument: :func:`groupby_args`.
- ``check_field_access_rights`` gives way to ``_check_field_access``:
  :func:`check_field_read_access`.
- ``read_group`` / ``web_read_group(domain, fields, groupby)`` give way to
  ``formatted_read_group`` / ``web_read_group(domain, groupby, aggregates)``, with other keys:
  :func:`grouped_rows` (what a grouped list or board shows, empty groups of ``group_expand``
  included).
- ``res.users.groups_id`` / ``ir.actions.*.groups_id`` are ``group_ids``; on ``res.groups``,
  ``users`` is ``user_ids`` and ``category_id`` becomes ``privilege_id`` (a
  ``res.groups.privilege``): :data:`USER_GROUPS_FIELD`, :func:`setup_groups`.
- The web client's grouped reads: 18.0's ``read_group`` (``groupby`` one spec or a list, one
  level when ``lazy``), 19.0's ``formatted_read_group`` and, for the pivot,
  ``formatted_read_grouping_sets``: :func:`label_grouped_reads`, :func:`grouped_labels`.
- ``name_search``'s domain argument is ``args`` in 18.0, ``domain`` in 19.0 (the second
  positional argument on both): :data:`NAME_SEARCH_DOMAIN`.
- A scheduled action reports its progress with ``ir.cron._notify_progress(done=, remaining=)``
  on 18.0 (one batch per call: the scheduler commits and calls again, up to 10 times a run);
  19.0 deprecates it for ``_commit_progress(processed, remaining=)``, which commits itself and
  returns the time left in the run (several batches per call): :func:`cron_batch_done`.
- A domain is a list of terms on 18.0, a ``Domain`` object on 19.0 (``group_expand`` may get
  either): :func:`domain_field_names`, :func:`domain_positive_conditions`.
"""

from odoo import release

ODOO_SERIES = tuple(release.version_info[:2])
AT_LEAST_19 = ODOO_SERIES >= (19, 0)

if AT_LEAST_19:
    from odoo.fields import Domain

    def domain_and(domains):
        return list(Domain.AND(domains))

    def domain_or(domains):
        return list(Domain.OR(domains))

    FALSE_DOMAIN = list(Domain.FALSE)
    USER_GROUPS_FIELD = "group_ids"
    NAME_SEARCH_DOMAIN = "domain"
else:
    from odoo.osv import expression

    def domain_and(domains):
        return expression.AND(domains)

    def domain_or(domains):
        return expression.OR(domains)

    FALSE_DOMAIN = list(expression.FALSE_DOMAIN)
    USER_GROUPS_FIELD = "groups_id"
    NAME_SEARCH_DOMAIN = "args"

__all__ = [
    "AT_LEAST_19",
    "FALSE_DOMAIN",
    "NAME_SEARCH_DOMAIN",
    "ODOO_SERIES",
    "USER_GROUPS_FIELD",
    "check_field_read_access",
    "cron_batch_done",
    "domain_and",
    "domain_or",
    "groupby_args",
    "grouped_labels",
    "grouped_rows",
    "label_grouped_reads",
    "setup_groups",
    "sql_constraints",
]


def sql_constraints(cls):
    """Class decorator: the model's ``_sql_constraints`` (18.0's form: ``[(name, definition,
    message)]``) as ``models.Constraint`` attributes on 19.0, where the list is ignored. Same
    names in the database on both (``<table>_<name>``)."""
    if not AT_LEAST_19:
        return cls
    from odoo import models

    for name, definition, message in cls.__dict__.get("_sql_constraints", ()):
        constraint = models.Constraint(definition, message)
        setattr(cls, f"_{name}", constraint)
        constraint.__set_name__(cls, f"_{name}")
    if "_sql_constraints" in cls.__dict__:
        delattr(cls, "_sql_constraints")
    return cls


def groupby_args(model, args):
    """``(alias, groupby_spec, query)`` of a ``_read_group_groupby(*args)`` override: 18.0
    passes ``(groupby_spec, query)`` (the alias is the model's table), 19.0
    ``(alias, groupby_spec, query)``."""
    if len(args) == 3:
        return args
    return (model._table, *args)


def check_field_read_access(records, fname):
    """Raise AccessError when the user may not read ``fname`` on ``records``' model."""
    if AT_LEAST_19:
        records._check_field_access(records._fields[fname], "read")
    else:
        records.check_field_access_rights("read", [fname])


def setup_groups(env, category_xmlid, groups, members, actions):
    """The fields of crm_plus's groups and actions whose names differ between the series, set
    from data (security/crm_plus_security.xml calls this through ``res.groups``).

    ``groups``: xmlids of the groups that go under ``category_xmlid`` (18.0: its
    ``category_id``, a category whose parent is the app the user form lists it under; 19.0: a
    ``res.groups.privilege`` named after that category, in the category's parent app, created
    once with the xmlid ``<module>.res_groups_privilege_<category name>``, the groups in the
    given order), lowest level first. ``members``: {group xmlid: [user xmlids]} added to the
    group. ``actions``: {action xmlid: [group xmlids]} that may see it."""
    ref = env.ref
    category = ref(category_xmlid)
    group_records = env["res.groups"].browse([ref(xmlid).id for xmlid in groups])
    if AT_LEAST_19:
        module, name = category_xmlid.split(".")
        privilege_xmlid = f"{module}.res_groups_privilege_{name.removeprefix('module_category_')}"
        privilege = env.ref(privilege_xmlid, raise_if_not_found=False)
        app = category.parent_id or category
        if not privilege:
            privilege = env["res.groups.privilege"].create(
                {"name": category.name, "category_id": app.id}
            )
            env["ir.model.data"]._update_xmlids(
                [{"xml_id": privilege_xmlid, "record": privilege, "noupdate": True}]
            )
        elif privilege.category_id != app:
            # A database installed before the privilege moved under the app.
            privilege.category_id = app
        # The privilege's levels in the order given (19.0 lists them by sequence).
        for sequence, group in enumerate(group_records, start=1):
            group.write({"privilege_id": privilege.id, "sequence": sequence * 10})
        users_field, action_groups_field = "user_ids", "group_ids"
    else:
        group_records.write({"category_id": category.id})
        users_field, action_groups_field = "users", "groups_id"
    for group_xmlid, user_xmlids in members.items():
        ref(group_xmlid).write({users_field: [(4, ref(xmlid).id) for xmlid in user_xmlids]})
    for action_xmlid, group_xmlids in actions.items():
        ref(action_xmlid).write(
            {action_groups_field: [(6, 0, [ref(xmlid).id for xmlid in group_xmlids])]}
        )


def user_form_section(group):
    """(section, label) under which Settings → Users lists ``group``'s choice: 18.0 the
    parent of its category and the category, 19.0 the category of its privilege and the
    privilege (as the forms build them: res.groups.get_groups_by_application,
    _get_view_group_hierarchy)."""
    if AT_LEAST_19:
        hierarchy = group._get_view_group_hierarchy()
        privilege = hierarchy["privileges"][group.privilege_id.id]
        section = next(
            category["name"]
            for category in hierarchy["categories"]
            if privilege["id"] in category["privilege_ids"]
        )
        return section, privilege["name"]
    for app, _kind, groups, (_sequence, section) in group.get_groups_by_application():
        if group in groups:
            return section, app.name
    return None


def grouped_rows(records, domain, groupby, aggregates=()):
    """``[(group value, count, {aggregate spec: value})]`` as the web client's grouped views get
    them (``group_expand`` applied); a many2one's value is its id (False for none)."""
    # The board and grouped lists ask for the empty groups of ``group_expand`` this way.
    records = records.with_context(read_group_expand=True)
    if AT_LEAST_19:
        result = {
            "groups": records.formatted_read_group(domain, [groupby], ["__count", *aggregates])
        }
        count_key, keys = "__count", {spec: spec for spec in aggregates}
    else:
        result = records.web_read_group(domain, list(aggregates) or [groupby], [groupby])
        count_key = f"{groupby}_count"
        keys = {spec: spec.split(":")[0] for spec in aggregates}
    rows = []
    for group in result["groups"]:
        value = group[groupby]
        if isinstance(value, (list, tuple)):
            value = value[0]
        rows.append((value, group[count_key], {spec: group[key] for spec, key in keys.items()}))
    return rows


def grouped_labels(records, domain, groupby):
    """``[(value, label)]`` of the groups a grouped list or the board shows for ``groupby`` (a
    many2one's value is its id)."""
    records = records.with_context(read_group_expand=True)
    if AT_LEAST_19:
        groups = records.formatted_read_group(domain, [groupby], ["__count"])
    else:
        groups = records.web_read_group(domain, [groupby], [groupby])["groups"]
    return [tuple(group[groupby]) if group[groupby] else (False, False) for group in groups]


def label_grouped_reads(cls):
    """Class decorator: the groups the web client reads (grouped lists, board, pivot, graph)
    go through ``cls._label_groups(groups, groupby)``, ``groupby`` the specs each group holds,
    which may rename their values' labels."""
    from odoo import api

    if AT_LEAST_19:

        def formatted_read_group(
            self, domain, groupby=(), aggregates=(), having=(), offset=0, limit=None, order=None
        ):
            groups = super(cls, self).formatted_read_group(
                domain,
                groupby,
                aggregates,
                having=having,
                offset=offset,
                limit=limit,
                order=order,
            )
            return self._label_groups(groups, list(groupby))

        def formatted_read_grouping_sets(
            self, domain, grouping_sets, aggregates=(), *, order=None
        ):
            results = super(cls, self).formatted_read_grouping_sets(
                domain, grouping_sets, aggregates, order=order
            )
            return [
                self._label_groups(groups, list(groupby))
                for groups, groupby in zip(results, grouping_sets, strict=True)
            ]

        methods = [formatted_read_group, formatted_read_grouping_sets]
    else:

        def read_group(
            self, domain, fields, groupby, offset=0, limit=None, orderby=False, lazy=True
        ):
            groups = super(cls, self).read_group(
                domain, fields, groupby, offset=offset, limit=limit, orderby=orderby, lazy=lazy
            )
            groupby = [groupby] if isinstance(groupby, str) else list(groupby)
            return self._label_groups(groups, groupby[:1] if lazy else groupby)

        methods = [read_group]
    for method in methods:
        setattr(cls, method.__name__, api.readonly(api.model(method)))
    return cls


def cron_batch_done(env, processed, remaining):
    """Commit a batch of a scheduled action's work and report it to the scheduler (``env``: the
    cron's, whose context holds its progress record; outside a cron run this only commits).
    ``processed``: records this batch did; ``remaining``: records left after it. True when the
    same call may go on with another batch: on 19.0 while the run has time left, on 18.0 never
    (the scheduler calls again while something remains)."""
    if AT_LEAST_19:
        return env["ir.cron"]._commit_progress(processed, remaining=remaining) > 0
    env["ir.cron"]._notify_progress(done=processed, remaining=remaining)
    env.cr.commit()
    return False


def domain_field_names(domain):
    """The fields (first part of each path) a domain's conditions read; ``"id"`` for a term
    that is not a plain condition, so that callers treat it as reading anything."""
    if AT_LEAST_19:
        domain = Domain(domain or [])
        return {cond.field_expr.split(".")[0] for cond in domain.iter_conditions()}
    names = set()
    for leaf in domain or ():
        if isinstance(leaf, (list, tuple)) and len(leaf) == 3 and isinstance(leaf[0], str):
            names.add(leaf[0].split(".")[0])
        elif not isinstance(leaf, str):
            names.add("id")
    return names


def domain_positive_conditions(domain):
    """``[(path, operator, value)]`` of a domain's conditions that are not negated (by ``!``),
    whatever their ``&`` / ``|`` nesting: what a search view's facets select. ``domain``: a
    list of terms or, on 19.0, a ``Domain``."""
    if AT_LEAST_19:
        from odoo.orm.domains import DomainCondition, DomainNary

        conditions = []

        def walk(node):
            if isinstance(node, DomainCondition):
                conditions.append((node.field_expr, node.operator, node.value))
            elif isinstance(node, DomainNary):
                for child in node.children:
                    walk(child)
            # DomainNot and the constants select nothing

        walk(Domain(domain or []))
        return conditions
    conditions = []
    terms = list(domain or ())

    def parse(index, negated):
        """Read the term at ``index`` (prefix notation); the index after it."""
        term = terms[index]
        if term == "!":
            return parse(index + 1, not negated)
        if term in ("&", "|"):
            return parse(parse(index + 1, negated), negated)
        if not negated and isinstance(term, (list, tuple)) and len(term) == 3:
            conditions.append(tuple(term))
        return index + 1

    index = 0
    while index < len(terms):
        index = parse(index, False)
    return conditions
