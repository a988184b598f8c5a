"""The three Executor API families the client speaks."""

from client.protocols.direct import DirectProtocol
from client.protocols.extended import ExtendedProtocol
from client.protocols.policy import PolicyProtocol, policy_body, policy_name_for

__all__ = ["DirectProtocol", "ExtendedProtocol", "PolicyProtocol", "policy_body", "policy_name_for"]
