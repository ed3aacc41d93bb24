"""Guards of the funnel's data: who may write the fields the funnel manages, and a readable
refusal (not a crash) for values of the wrong type."""

from odoo.exceptions import ValidationError

# The funnel's own methods put this object in the context to write the fields they manage.
# An RPC client can send any JSON/XML value in its context, but never this object.
FUNNEL_OP = object()


def is_funnel_op(env):
    return env.context.get("crm_plus_funnel_op") is FUNNEL_OP


class FunnelRowError(ValidationError):
    """A row of an import the funnel refuses, its message naming the row."""


# An account type's create/write checks the order of its phases once, on the result, rather
# than after each phase (a form save reorders them one by one). Same trick: an RPC client
# cannot skip the check by sending a context key.
PHASE_CHECK_DEFERRED = object()


def phase_check_deferred(env):
    return env.context.get("crm_plus_defer_phase_check") is PHASE_CHECK_DEFERRED


class BatchDefaults(dict):
    """The defaults ``create()`` asked for within one batch of the funnel's own creates (funnel
    lines, chatter messages, tracking values): ``create()`` asks for each record, and for the
    same model, fields, user, company and ``default_*`` keys the answer is the same. Only the
    funnel's code makes one: an RPC client cannot send this class in a context."""


def batch_default_get(model, fields_list, compute):
    """``compute(fields_list)`` (the model's own ``default_get``), once per batch."""
    cache = model.env.context.get("crm_plus_batch_defaults")
    if not isinstance(cache, BatchDefaults):
        return compute(fields_list)
    env = model.env
    key = (
        model._name,
        tuple(fields_list),
        env.uid,
        env.company.id,
        repr(sorted((k, v) for k, v in env.context.items() if k.startswith("default_"))),
    )
    if key not in cache:
        cache[key] = compute(fields_list)
    return dict(cache[key])


def check_vals(model, vals, only=None):
    """Refuse unknown fields and values the fields cannot hold with a ValidationError, before
    the ORM would raise a bare ValueError (an RPC crash). ``only``: the field names to check."""
    if not isinstance(vals, dict):
        raise ValidationError(model.env._("Values must be given as a dictionary of fields."))
    for fname, value in vals.items():
        if only is not None and fname not in only:
            continue
        field = model._fields.get(fname)
        if field is None:
            raise ValidationError(
                model.env._(
                    "%(model)s has no field %(field)s.",
                    model=model.env["ir.model"]._get(model._name).name,
                    field=fname,
                )
            )
        if field.type in ("one2many", "many2many"):
            continue
        if field.type == "many2one" and not (
            value is False
            or value is None
            or (isinstance(value, int) and not isinstance(value, bool))
        ):
            raise ValidationError(
                model.env._(
                    "%(field)s expects a record id, not %(value)r.",
                    field=field._description_string(model.env),
                    value=value,
                )
            )
        if (
            field.type in ("integer", "float", "monetary")
            and (isinstance(value, bool) or not isinstance(value, (int, float)))
            and value is not False
        ):
            raise ValidationError(
                model.env._(
                    "%(field)s expects a number, not %(value)r.",
                    field=field._description_string(model.env),
                    value=value,
                )
            )
        try:
            field.convert_to_cache(value, model.browse(), validate=True)
        except (ValueError, TypeError) as error:
            raise ValidationError(
                model.env._(
                    "%(value)r is not a valid value for %(field)s.",
                    value=value,
                    field=field._description_string(model.env),
                )
            ) from error
