"""Markers only the funnel's own code can put in a context. An RPC client can send any JSON or
XML value in its context, never a Python object: a rule cannot be skipped by a context key."""

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
