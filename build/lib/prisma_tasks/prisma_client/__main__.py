"""`python -m prisma_tasks.prisma_client`: print the node flag that installs the client hook.

NODE_OPTIONS="$(python -m prisma_tasks.prisma_client)" node app.js
"""

from prisma_tasks.prisma_client.preload import import_flag

print(import_flag())
