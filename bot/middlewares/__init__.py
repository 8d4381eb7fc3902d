from bot.middlewares.access import AccessMiddleware
from bot.middlewares.user import UserContextMiddleware

__all__ = ["AccessMiddleware", "UserContextMiddleware"]
