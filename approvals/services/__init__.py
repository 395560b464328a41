"""Business operations of approvals, one module per noun: catalog (items, policies),
requests (submit, withdraw, expire), decisions (decide, stages), outcomes (what Okta
answered), grants (end, expiry, reminders, retry); common holds what they share.

Each operation is keyword-only with the acting user explicit, runs in one transaction with its
audit event written inside it, and queues emails and Celery work only after commit. Refusals
raise ``ApprovalError`` (common) with a sentence meant for the person who acted; nothing has
changed when it is raised.

Who may administer is asked as ``user.has_perm(...)``: admins hold these (accounts/roles.py
``ROLE_PERMISSIONS``) and superusers every permission, as Django gives them. Employees and
managers hold none: what they may do is decided per request on the model
(``can_be_decided_by``, ``can_be_cancelled_by``, ``is_party``).

- ``approvals.manage_catalog``: publish and edit catalog items
- ``approvals.manage_policies``: edit approval policies
- ``approvals.view_all_requests``: open anyone's request (its page, the subject's access)
- ``approvals.manage_grants``: list everyone's active grants, end one
- ``approvals.retry_fulfilment``: the operation queue; send a failed request or removal again
"""
