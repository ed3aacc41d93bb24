"""Guards of the funnel's data: markers only the funnel's own code can put in a context (an RPC
client can send any JSON or XML value in its context, never a Python object: a rule cannot be
skipped by a context key), and the ORM's own refusal of a value, readable over RPC."""

import math
from contextlib import contextmanager

from odoo.exceptions import ValidationError
from odoo.models import BaseModel

# The state machine (crm.plus.funnel) writes the phase lines' managed fields with this marker:
# they carry the invariants (one current line per open contact, states ordered along the
# phases), which any other write would break.
FUNNEL_OP = object()


def is_funnel_op(env):
    return env.context.get("crm_plus_funnel_op") is FUNNEL_OP


# An account type's create/write checks the order of its phases once, on the result, rather
# than after each phase (a form save reorders them one by one).
PHASE_CHECK_DEFERRED = object()


def phase_check_deferred(env):
    return env.context.get("crm_plus_defer_phase_check") is PHASE_CHECK_DEFERRED


@contextmanager
def values_checked_by_the_orm():
    """A value a field cannot hold (a word for a number, an unknown selection key, a string for
    a record) is refused by the ORM itself, with a ValueError naming the field and the value,
    before anything is written. Over RPC a ValueError is a traceback: the same refusal, as the
    ValidationError a client expects."""
    try:
        yield
    except ValueError as error:
        raise ValidationError(str(error)) from error


# PostgreSQL's integer (int4): the columns of Integer fields and of record ids.
INT4_MIN, INT4_MAX = -(2**31), 2**31 - 1
NUMBER_TYPES = ("integer", "float", "monetary")


def records_label(records, vals=None):
    """Who a refused value was meant for: the records written, or the record being created."""
    if records:
        names = (
            records._guard_labels()
            if hasattr(records, "_guard_labels")
            else records.sudo().mapped("display_name")
        )
        return ", ".join(names[:3]) + (", …" if len(names) > 3 else "")
    name = (vals or {}).get("name")
    return name if isinstance(name, str) and "\x00" not in name else records._description


def _refuse(records, vals, field, value, reason):
    env = records.env
    raise ValidationError(
        env._(
            "%(record)s: %(field)s %(reason)s (got %(value)s).",
            record=records_label(records, vals),
            field=field._description_string(env),
            reason=reason,
            value=repr(value)[:80],
        )
    )


def checked_client_values(records, vals, strict_many2ones=()):
    """``vals`` for a create or write of ``records`` (empty for a create), refused with a
    ValidationError naming the record and the field when a value is one a client can send but
    the ORM would store wrongly or crash on: a NUL character in a string (PostgreSQL refuses
    it when the request ends: a traceback), an infinite or NaN number, an integer beyond
    PostgreSQL's integer, a fraction for an integer (the ORM would cut it). The many2one
    fields named in ``strict_many2ones`` (True: every many2one) take a record id (a positive
    whole number, never a float or a boolean), False or a record only: the ORM reads a float,
    a string, True or 0 there as "no record" and would silently empty the field. Returns
    ``vals``, with a record given for one of those turned into its id."""
    env = records.env
    result = vals
    for fname, value in vals.items():
        field = records._fields.get(fname)
        if field is None or value is None or value is False:
            continue
        if isinstance(value, str) and "\x00" in value:
            _refuse(records, vals, field, value, env._("cannot contain a NUL character"))
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if field.type in NUMBER_TYPES and number and not math.isfinite(value):
            _refuse(records, vals, field, value, env._("must be a finite number"))
        if field.type == "integer" and number:
            if value != int(value):
                _refuse(records, vals, field, value, env._("must be a whole number"))
            if not INT4_MIN <= value <= INT4_MAX:
                _refuse(
                    records,
                    vals,
                    field,
                    value,
                    env._("must be between %(min)s and %(max)s", min=INT4_MIN, max=INT4_MAX),
                )
        if field.type == "many2one" and (strict_many2ones is True or fname in strict_many2ones):
            if isinstance(value, BaseModel) and value._name == field.comodel_name:
                if len(value) <= 1:
                    result = dict(result, **{fname: value.id})
                    continue
            elif type(value) is int and 0 < value <= INT4_MAX:
                continue
            _refuse(
                records,
                vals,
                field,
                value,
                env._("must be given by its record id (a positive whole number) or False"),
            )
    return result
