"""The standalone Cluster Watch: JS7's ``js7-cluster-watch``
(``js7.cluster.watch.ClusterWatchMain``) for a Controller pair."""
