"""The console's forms: create and edit keys, teams and customers; store a provider key in the OS
keyring; show a new key's value once.

Every form validates locally first, shows a diff of what changes and asks y/n, then lets the source
validate with the config file's rules; it closes only when the source accepted the change. Secrets are
never shown in clear, never logged and never kept after a form closes.

Modules: field_text (parsing typed values), routing_text (the routing / target / fallback syntax),
entity_text (an entity as text: diff lines, patches, table cells), entity_input (a form's typed values
into a validated entity, every problem at once; no widgets), field_widgets (error lines, budget and rule
rows), field_messages (which message line a problem's path is about, what to focus), entity_form (key /
team / customer forms), key_value (the shown-once key), notice, provider_secret_form (the OS keyring),
worker_errors.
"""
from .entity_form import FORM_OF_KIND, CustomerForm, EntityForm, KeyForm, Saved, TeamForm
from .entity_input import BudgetInput, EntityInput, RuleInput, read_entity
from .entity_text import KIND_LABEL, budgets_text, display_fields, error_slot, patch_of, rate_text
from .field_text import FieldError, parse_amount, parse_count, parse_expires, parse_globs, parse_name
from .field_widgets import BudgetRow, FieldErrorLine, RuleRow
from .key_value import KeyValueModal
from .notice import Notice
from .provider_secret_form import KEYRING_SERVICE, ProviderSecretForm, keyring_username
from .routing_text import format_fallbacks, format_targets, format_when, parse_fallbacks, parse_targets, parse_when
from .worker_errors import report_worker_error

__all__ = [
    "FORM_OF_KIND", "KEYRING_SERVICE", "KIND_LABEL", "BudgetInput", "BudgetRow", "CustomerForm", "EntityForm",
    "EntityInput", "FieldError", "FieldErrorLine", "KeyForm", "KeyValueModal", "Notice", "ProviderSecretForm",
    "RuleInput", "RuleRow", "Saved", "TeamForm", "budgets_text", "display_fields", "error_slot", "format_fallbacks",
    "format_targets", "format_when",
    "keyring_username", "parse_amount", "parse_count", "parse_expires", "parse_fallbacks", "parse_globs",
    "parse_name", "parse_targets", "parse_when", "patch_of", "rate_text", "read_entity", "report_worker_error",
]
