"""LeadLex webhooks in, on a laptop: the receiver's Function URL served on 127.0.0.1 and
registered with the sandbox, as `relay leadlex register-webhook` registers it with LeadLex.

The sandbox delivers a signed `activity.created` to that URL whenever an activity is added; the
receiver (functions/receive_webhooks/app.py, in-process) verifies it with the secret the
registration returned, stored in the stack's LeadLexWebhookSecret (moto's Secrets Manager), and
puts the contact on the contact queue: no manual enqueue.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from leadlex_sandbox import SandboxServer
from relay_cli.commands.leadlex import register_webhook
from relay_local.function_url import RECEIVER_ID, FunctionUrlServer, receiver_handler
from relay_local.template import LocalStack, StackClients


@dataclass
class WebhookReceiverUrl:
    server: FunctionUrlServer
    secret_arn: str
    registered: bool
    """False against the real LeadLex: it cannot reach 127.0.0.1."""

    @property
    def url(self) -> str:
        return self.server.url

    @classmethod
    def start(
        cls,
        stack: LocalStack,
        clients: StackClients,
        sandbox: SandboxServer | None,
        api_key: str,
        *,
        set_env: Callable[[Mapping[str, str]], None],
        invoke_lock: threading.Lock,
    ) -> WebhookReceiverUrl:
        # The receiver's environment as the template declares it: the queue and the secret's id.
        set_env(stack.function_environment(RECEIVER_ID))
        properties = stack.template["Resources"][RECEIVER_ID]["Properties"]
        memory = properties.get("MemorySize") or (stack.template.get("Globals") or {}).get(
            "Function", {}
        ).get("MemorySize", 128)
        server = FunctionUrlServer(
            receiver_handler(),
            function_name=f"{stack.stack_name}-{RECEIVER_ID}",
            timeout_seconds=int(stack.resolve(properties.get("Timeout", 3))),
            memory_mb=int(stack.resolve(memory)),
            invoke_lock=invoke_lock,
        ).start()
        secret_arn = stack.outputs["WebhookSecretArn"]
        receiver = cls(server, secret_arn, registered=False)
        if sandbox is not None:
            try:
                secret = register_webhook(sandbox.base_url, api_key, server.url)
                assert clients.secretsmanager is not None
                clients.secretsmanager.put_secret_value(SecretId=secret_arn, SecretString=secret)
            except BaseException:
                server.stop()
                raise
            receiver.registered = True
        return receiver

    def stop(self) -> None:
        self.server.stop()
