"""`nastavnik serve`: the check-and-submit page, the remote buttons and the municipal workspace.

* ``app``          the app factory (middleware, health, static files, every router)
* ``check``, ``login``, ``plan``, ``staff``, ``remote``   the areas of pages, each a router over
  the shared ``site.Page``; none imports another
* ``site``, ``helpers``, ``results``   what the areas share: page state, small helpers, results
* ``workspace``, ``jobs``, ``journal``, ``collect``, ``access``   the municipal workspace, sync
  jobs, the journal, the collection folder, access codes and sessions
* ``middleware``, ``config``   the size limit and error page; the configuration

See docs/architecture.md for the layers.
"""
