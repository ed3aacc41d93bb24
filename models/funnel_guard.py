"""Guards of the funnel's data: markers only the funnel's own code can put in a context (an RPC
client can send any JSON or XML value in its context, never a Python object: a rule cannot be
skipped by a context key), and the ORM's own refusal of a value, readable over RPC."""

from contextlib import contextmanager

from odoo.exceptions import ValidationError

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
